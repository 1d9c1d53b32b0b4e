using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Router.Rollout.Fleet;

/// <summary>
/// fleet's HTTP API v1 over its unix socket (<c>unix:/var/run/fleet.sock</c>) or a URL. fleet has no auth and no
/// TLS ("full root access"): keep it on loopback or the socket. Lists follow <c>nextPageToken</c> until absent.
/// </summary>
internal sealed class FleetClient : IDisposable
{
    private readonly HttpClient _http;

    public FleetClient(string address)
    {
        Address = address;
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = address["unix:".Length..];
            var handler = new SocketsHttpHandler
            {
                UseProxy = false,
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            _http = new HttpClient(handler) { BaseAddress = new Uri("http://fleet/") };
        }
        else
        {
            _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(address.TrimEnd('/') + "/") };
        }

        _http.Timeout = TimeSpan.FromSeconds(30);
    }

    public string Address { get; }

    public async Task<IReadOnlyList<FleetUnit>> UnitsAsync(CancellationToken cancellationToken)
    {
        var all = new List<FleetUnit>();
        string? token = null;
        do
        {
            var page = await GetAsync("fleet/v1/units" + Token(token, first: true), FleetJson.Default.FleetUnitPage, cancellationToken).ConfigureAwait(false);
            all.AddRange(page.Units ?? []);
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
        return all;
    }

    /// <summary>The unit, or null when fleet has none of that name (404).</summary>
    public async Task<FleetUnit?> UnitAsync(string name, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("fleet/v1/units/" + Uri.EscapeDataString(name), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureAsync(response, $"GET unit {name}", cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, FleetJson.Default.FleetUnit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the unit (201, with <paramref name="options"/>) or sets the desired state of an existing one (204;
    /// fleet then ignores any options, so new content needs <see cref="DeleteAsync"/> first).
    /// </summary>
    public async Task<bool> PutAsync(string name, string desiredState, IReadOnlyList<FleetUnitOption>? options, CancellationToken cancellationToken)
    {
        using var response = await _http.PutAsJsonAsync("fleet/v1/units/" + Uri.EscapeDataString(name), new FleetUnitPut(desiredState, options), FleetJson.Default.FleetUnitPut, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, $"PUT unit {name} {desiredState}", cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.Created;
    }

    /// <summary>Destroys the unit; false when fleet had none (404).</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        using var response = await _http.DeleteAsync("fleet/v1/units/" + Uri.EscapeDataString(name), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        await EnsureAsync(response, $"DELETE unit {name}", cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<IReadOnlyList<FleetUnitState>> StatesAsync(string? unitName, CancellationToken cancellationToken)
    {
        var all = new List<FleetUnitState>();
        string? token = null;
        var filter = unitName is null ? "" : "?unitName=" + Uri.EscapeDataString(unitName);
        do
        {
            var page = await GetAsync("fleet/v1/state" + filter + Token(token, first: filter.Length == 0), FleetJson.Default.FleetStatePage, cancellationToken).ConfigureAwait(false);
            all.AddRange(page.States ?? []);
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
        return all;
    }

    public async Task<IReadOnlyList<FleetMachine>> MachinesAsync(CancellationToken cancellationToken)
    {
        var all = new List<FleetMachine>();
        string? token = null;
        do
        {
            var page = await GetAsync("fleet/v1/machines" + Token(token, first: true), FleetJson.Default.FleetMachinePage, cancellationToken).ConfigureAwait(false);
            all.AddRange(page.Machines ?? []);
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
        return all;
    }

    public void Dispose() => _http.Dispose();

    private static string Token(string? token, bool first) =>
        token is null ? "" : (first ? "?" : "&") + "nextPageToken=" + Uri.EscapeDataString(token);

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, "GET " + path, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, type, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
                ?? throw new FleetException($"fleet answered {response.RequestMessage?.RequestUri} with an empty body", (int)response.StatusCode);
        }
        catch (JsonException e)
        {
            throw new FleetException($"fleet answered {response.RequestMessage?.RequestUri} with something that is not its JSON: {e.Message}", (int)response.StatusCode);
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string? message = null;
        try
        {
            message = (await response.Content.ReadFromJsonAsync(FleetJson.Default.FleetErrorBody, cancellationToken).ConfigureAwait(false))?.Error?.Message;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
        }

        throw new FleetException($"fleet refused {what}: {(int)response.StatusCode} {message ?? response.ReasonPhrase}", (int)response.StatusCode);
    }
}
