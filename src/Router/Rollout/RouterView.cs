using System.Net;
using System.Text.Json;

namespace Router.Rollout;

/// <summary>
/// What the routers say of a service's hosts, from their admin <c>/status</c>. A host counts as reached through
/// the router when every router lists it (same address as the host key) as "up" with no consecutive failure:
/// a router sets a host aside when a real request fails to connect to it and counts such failures until one
/// gets through, so under traffic "up" with zero failures means the requests routed to it connected.
/// </summary>
internal sealed class RouterView(IReadOnlyList<IPEndPoint> admins) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Null when every router routes to <paramref name="id"/> at <paramref name="address"/>; else why not.</summary>
    public async Task<string?> WhyNotRoutedAsync(string service, string id, string address, CancellationToken cancellationToken)
    {
        foreach (var admin in admins)
        {
            var host = await FindAsync(admin, service, id, cancellationToken).ConfigureAwait(false);
            if (host is not { } h)
            {
                return $"router {admin} does not list it yet";
            }

            if (h.Address != address)
            {
                return $"router {admin} has it at {h.Address}, not {address}";
            }

            if (h.Health != "up" || h.Failures > 0)
            {
                return $"router {admin} has it {h.Health} after {h.Failures} failure(s)";
            }
        }

        return null;
    }

    /// <summary>True once no router lists <paramref name="id"/> any more: new requests stop reaching it.</summary>
    public async Task<bool> GoneAsync(string service, string id, CancellationToken cancellationToken)
    {
        foreach (var admin in admins)
        {
            if (await FindAsync(admin, service, id, cancellationToken).ConfigureAwait(false) is not null)
            {
                return false;
            }
        }

        return true;
    }

    public void Dispose() => _http.Dispose();

    private async Task<(string Address, string Health, int Failures)?> FindAsync(IPEndPoint admin, string service, string id, CancellationToken cancellationToken)
    {
        var text = await _http.GetStringAsync(new Uri($"http://{admin}/status"), cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(text);
        foreach (var s in document.RootElement.GetProperty("services").EnumerateArray())
        {
            if (s.GetProperty("name").GetString() != service)
            {
                continue;
            }

            foreach (var h in s.GetProperty("hosts").EnumerateArray())
            {
                if (h.GetProperty("id").GetString() == id)
                {
                    return (h.GetProperty("address").GetString() ?? "", h.GetProperty("health").GetString() ?? "", h.GetProperty("consecutiveFailures").GetInt32());
                }
            }
        }

        return null;
    }
}
