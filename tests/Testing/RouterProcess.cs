using System.Net;
using System.Text.Json;

namespace Router.Testing;

/// <summary>
/// The real router executable on free loopback ports (DNS off unless asked for), against a given etcd and
/// prefix. Start waits for <c>/readyz</c>.
/// </summary>
public sealed class RouterProcess : IAsyncDisposable
{
    private readonly HttpClient _admin;

    private RouterProcess(TestProcess process, int httpPort, int adminPort)
    {
        Process = process;
        HttpPort = httpPort;
        AdminPort = adminPort;
        Http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        _admin = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"),
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public TestProcess Process { get; }

    public int HttpPort { get; }

    public int AdminPort { get; }

    /// <summary>A client for the shared HTTP port.</summary>
    public HttpClient Http { get; }

    /// <summary>
    /// The built router.dll, or <c>ROUTER_TEST_EXECUTABLE</c>: another build of the router to run every test against
    /// (the ahead-of-time binary of <c>scripts/publish-aot</c>, for instance).
    /// </summary>
    public static string Executable =>
        Environment.GetEnvironmentVariable("ROUTER_TEST_EXECUTABLE") is { Length: > 0 } other ? other : RepoPaths.Executable("Router", "router");

    /// <summary>
    /// <c>ROUTER_TEST_ROUTER_ARGS</c>: options given to every router a test starts, before the test's own (which win),
    /// to run a whole suite against another setting (<c>--http-transport epoll</c>, for instance). The router's own
    /// <c>ROUTER_*</c> variables are not passed on to it (<see cref="TestProcess"/>), so this is the way.
    /// </summary>
    public static IReadOnlyList<string> SuiteArgs =>
        Environment.GetEnvironmentVariable("ROUTER_TEST_ROUTER_ARGS")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>Starts the router; <paramref name="extraArgs"/> come last, so they can override the defaults here.</summary>
    public static async Task<RouterProcess> StartAsync(string etcdUrls, string prefix, IEnumerable<string>? extraArgs = null, IReadOnlyDictionary<string, string?>? environment = null, bool waitReady = true)
    {
        var extra = SuiteArgs.Concat(extraArgs ?? []).ToList();
        for (var attempt = 1; ; attempt++)
        {
            var httpPort = Ports.FreeTcp();
            var adminPort = Ports.FreeTcp();
            var args = new List<string>
            {
                "--etcd", etcdUrls,
                "--prefix", prefix,
                "--http", $"127.0.0.1:{httpPort}",
                "--admin", $"127.0.0.1:{adminPort}",
                "--tcp-bind", "127.0.0.1",
                "--dns", "off",
                "--drain-timeout", "5",
            };
            args.AddRange(extra);
            var process = TestProcess.Start(Executable, args, environment, "router");
            var router = new RouterProcess(process, httpPort, adminPort);

            // A free port found by probing can be taken by another test process before the router binds it:
            // that start is retried on new ports, everything else is the test's business.
            await Wait.UntilAsync(() => process.HasExited || process.Output.Contains("Application started", StringComparison.Ordinal), "the router to listen", TimeSpan.FromSeconds(30));
            if (process.HasExited && attempt < 3 && process.Output.Contains("address already in use", StringComparison.Ordinal))
            {
                await router.DisposeAsync();
                continue;
            }

            if (waitReady)
            {
                await router.WaitReadyAsync();
            }

            return router;
        }
    }

    public Task WaitReadyAsync() =>
        Wait.UntilAsync(async () =>
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"router exited with {Process.ExitCode}:\n{Process.Output}");
            }

            using var response = await _admin.GetAsync("/readyz");
            return response.StatusCode == HttpStatusCode.OK;
        }, "the router to be ready", TimeSpan.FromSeconds(30));

    public async Task<HttpResponseMessage> AdminGetAsync(string path) => await _admin.GetAsync(path);

    public async Task<JsonElement> StatusAsync()
    {
        var json = await _admin.GetStringAsync("/status");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>GET through the router with a Host header.</summary>
    public async Task<HttpResponseMessage> GetAsync(string host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        return await Http.SendAsync(request);
    }

    /// <summary>GET through the router by Host; the status code and, for 200, the backend's echo.</summary>
    public async Task<(HttpStatusCode Status, BackendEcho? Echo)> EchoAsync(string host, string path)
    {
        using var response = await GetAsync(host, path);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.OK ? BackendEcho.Parse(body) : null);
    }

    /// <summary>Waits until a request by Host reaches a backend with 200 (the route is live).</summary>
    public Task WaitRoutedAsync(string host, string path = "/", Func<BackendEcho, bool>? accept = null) =>
        Wait.UntilAsync(async () =>
        {
            var (status, echo) = await EchoAsync(host, path);
            return status == HttpStatusCode.OK && (accept is null || accept(echo!));
        }, $"{host}{path} to be routed");

    public Task WaitStatusAsync(string host, string path, HttpStatusCode expected) =>
        Wait.UntilAsync(async () =>
        {
            using var response = await GetAsync(host, path);
            return response.StatusCode == expected;
        }, $"{host}{path} to answer {(int)expected}");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        _admin.Dispose();
        await Process.DisposeAsync();
    }
}
