using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Router.Registry.CommandLine;

namespace Router.Cli;

/// <summary>
/// <c>router status</c>: the admin API's <c>/status</c> for a terminal — the verdict and etcd freshness,
/// problems first, then services with their hosts and health, host_port listeners and DNS.
/// </summary>
internal static class StatusCommand
{
    public const int Healthy = 0;
    public const int Unhealthy = 1;
    public const int CannotAsk = 2;

    public const string Usage = """
        Usage: router status [--admin ADDR:PORT]

        Asks a running router's admin API (GET /status) and prints it for a person: ready or not, etcd
        freshness, problems first, then services with their hosts and health, host_port listeners and DNS.

        Options:
          --admin ADDR:PORT   the router's admin address (also ROUTER_ADMIN)   [127.0.0.1:9090]
          --help              this text

        Exit codes: 0 ready and no problems, 1 the router answered with problems or is not ready
        (or draining), 2 bad options or the router cannot be reached.
        """;

    private static readonly OptionTable Table = new() { Values = ["admin"], EnvironmentPrefix = "ROUTER_", HelpCommand = "router status --help" };

    public static async Task<int> RunAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var reader = OptionReader.Parse(Table, args, name => environment.GetValueOrDefault(name));
        if (reader.Help)
        {
            await output.WriteAsync(Usage).ConfigureAwait(false);
            return Healthy;
        }

        var endpoint = reader.Endpoint("admin") ?? new IPEndPoint(IPAddress.Loopback, 9090);
        if (reader.Errors.Count > 0)
        {
            foreach (var problem in reader.Errors)
            {
                await error.WriteLineAsync($"router status: {problem}").ConfigureAwait(false);
            }

            return CannotAsk;
        }

        JsonElement status;
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        var url = $"http://{endpoint}/status";
        try
        {
            using var response = await client.GetAsync(new Uri(url), cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                await error.WriteLineAsync($"router status: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}: is {endpoint} the router's --admin address?").ConfigureAwait(false);
                return CannotAsk;
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
            status = document.RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            await error.WriteLineAsync($"router status: cannot reach the router at {url}: {e.Message} (is it running, and is {endpoint} its --admin address?)").ConfigureAwait(false);
            return CannotAsk;
        }

        await output.WriteAsync(Text(status, endpoint.ToString())).ConfigureAwait(false);
        var ready = status.GetProperty("ready").GetBoolean() && !status.GetProperty("draining").GetBoolean();
        return ready && status.GetProperty("problems").GetArrayLength() == 0 ? Healthy : Unhealthy;
    }

    /// <summary>The /status document as lines for a terminal.</summary>
    public static string Text(JsonElement status, string admin)
    {
        var text = new StringBuilder();
        var etcd = status.GetProperty("etcd");
        var state = status.GetProperty("draining").GetBoolean() ? "DRAINING"
            : status.GetProperty("ready").GetBoolean() ? "ready" : "NOT READY (registry not read yet)";
        var connected = etcd.GetProperty("connected").GetBoolean();
        var age = etcd.GetProperty("tableAgeSeconds") is { ValueKind: JsonValueKind.Number } a ? $"{a.GetDouble():F1} s ago" : "never";
        text.Append(CultureInfo.InvariantCulture, $"router {admin}: {state}\n");
        text.Append(CultureInfo.InvariantCulture, $"etcd: {(connected ? "connected" : "DISCONNECTED")} to {Str(etcd, "current") ?? "-"}, revision {etcd.GetProperty("revision").GetInt64()}, table last known current {age}");
        if (Str(etcd, "lastError") is { } lastError)
        {
            text.Append(CultureInfo.InvariantCulture, $" (last error: {lastError})");
        }

        text.Append('\n');

        var problems = status.GetProperty("problems");
        text.Append(CultureInfo.InvariantCulture, $"\nProblems ({problems.GetArrayLength()}):\n");
        foreach (var problem in problems.EnumerateArray().GroupBy(p => Str(p, "service") ?? "").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"  {problem.Key}\n");
            foreach (var p in problem)
            {
                text.Append(CultureInfo.InvariantCulture, $"    {Str(p, "key")}: {Str(p, "message")}\n");
            }
        }

        var services = status.GetProperty("services");
        text.Append(CultureInfo.InvariantCulture, $"\nServices ({services.GetArrayLength()}):\n");
        foreach (var service in services.EnumerateArray())
        {
            var hosts = service.GetProperty("hosts");
            var up = hosts.EnumerateArray().Count(h => Str(h, "health") == "up");
            var flags = string.Concat(
                service.GetProperty("hostPort") is { ValueKind: JsonValueKind.Number } port
                    ? $", host_port {port.GetInt32()}{(service.GetProperty("hostPortOwned").GetBoolean() ? "" : " (not owned)")}" : "",
                service.GetProperty("private").GetBoolean() ? ", private" : "",
                service.GetProperty("stripPath").GetBoolean() ? ", strip_path" : "");
            var verdict = hosts.GetArrayLength() == 0 ? "NO HOSTS" : up == 0 ? "DOWN" : $"{up}/{hosts.GetArrayLength()} up";
            text.Append(CultureInfo.InvariantCulture, $"  {Str(service, "name")}  {Str(service, "scheme")}{flags}: {verdict}\n");
            foreach (var host in hosts.EnumerateArray())
            {
                var health = Str(host, "health") ?? "";
                var detail = health == "up" ? "" : $" ({host.GetProperty("consecutiveFailures").GetInt32()} connect failures, until {Str(host, "setAsideUntil")})";
                text.Append(CultureInfo.InvariantCulture, $"    {Str(host, "id")}  {Str(host, "address")}  {health}{detail}\n");
            }
        }

        if (status.GetProperty("listeners") is { ValueKind: JsonValueKind.Array } listeners && listeners.GetArrayLength() > 0)
        {
            text.Append("\nhost_port listeners:\n");
            foreach (var listener in listeners.EnumerateArray())
            {
                var failed = Str(listener, "error") is { } reason ? $": {reason}" : "";
                text.Append(CultureInfo.InvariantCulture, $"  {listener.GetProperty("port").GetInt32(),5}  {Str(listener, "service")} ({Str(listener, "kind")}) {Str(listener, "state")}{failed}, {listener.GetProperty("connections").GetInt32()} open\n");
            }
        }

        if (status.TryGetProperty("dns", out var dns) && dns.ValueKind == JsonValueKind.Object)
        {
            var bound = dns.GetProperty("bound").GetBoolean() ? "bound" : $"NOT BOUND ({Str(dns, "bindError")})";
            var upstreams = string.Join(", ", dns.GetProperty("upstreams").EnumerateArray().Select(u => u.TryGetProperty("address", out var ad) ? ad.ToString() : u.ToString()));
            text.Append(CultureInfo.InvariantCulture, $"\nDNS: {Str(dns, "listen")} {bound}, zone {Str(dns, "zone")}, upstreams {upstreams}, cache {dns.GetProperty("cacheEntries").GetInt32()}/{dns.GetProperty("cacheCapacity").GetInt32()}\n");
        }
        else
        {
            text.Append("\nDNS: off\n");
        }

        return text.ToString();
    }

    private static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.ToString() : null;
}
