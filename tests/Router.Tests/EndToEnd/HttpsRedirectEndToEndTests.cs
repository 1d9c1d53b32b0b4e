using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// Plain requests to an https-only service, on the shared HTTP port and on the service's own host_port:
/// redirected to this router's HTTPS port (301 GET/HEAD, 308 others, ACME challenges forwarded), and on a
/// router without --https a clear 503 and a problem in /status.
/// </summary>
public sealed class HttpsRedirectEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>, IAsyncLifetime
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();
    private readonly DirectoryInfo _certs = Directory.CreateTempSubdirectory("router-redirect-certs-");
    private readonly int _hostPort = Ports.FreeTcp();
    private TestBackend _backend = null!;

    public async Task InitializeAsync()
    {
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=*.example.com", key, HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            File.WriteAllText(Path.Combine(_certs.FullName, "site.key"), key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(_certs.FullName, "site.crt"), certificate.ExportCertificatePem());
        }

        _backend = await TestBackend.StartAsync("secure-1");
        await _etcd.PutAsync($"{_prefix}/secure/scheme", "https");
        await _etcd.PutAsync($"{_prefix}/secure/hosts/1", _backend.Address);
        await _etcd.PutAsync($"{_prefix}/secure/host_port", _hostPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await _etcd.PutAsync($"{_prefix}/mq/scheme", "tls");
        await _etcd.PutAsync($"{_prefix}/mq/hosts/1", "127.0.0.1:9");
    }

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        _certs.Delete(recursive: true);
    }

    [Fact]
    public async Task SharedPort_RedirectsToTheHttpsPort_301ForGetAndHead_308ForOthers()
    {
        var https = Ports.FreeTcp();
        await using var router = await StartAsync(https);
        using var client = Client(router.HttpPort);

        await Wait.UntilAsync(async () => (await SendAsync(client, HttpMethod.Get, "/x?y=1")).Status == HttpStatusCode.MovedPermanently, "secure to be routed");
        var get = await SendAsync(client, HttpMethod.Get, "/x?y=1");
        var head = await SendAsync(client, HttpMethod.Head, "/x");
        var post = await SendAsync(client, HttpMethod.Post, "/form");
        var delete = await SendAsync(client, HttpMethod.Delete, "/item/1");

        Assert.Equal($"https://secure.example.com:{https}/x?y=1", get.Location);
        Assert.Equal((HttpStatusCode.MovedPermanently, $"https://secure.example.com:{https}/x"), (head.Status, head.Location));
        Assert.Equal((HttpStatusCode.PermanentRedirect, $"https://secure.example.com:{https}/form"), (post.Status, post.Location));
        Assert.Equal((HttpStatusCode.PermanentRedirect, $"https://secure.example.com:{https}/item/1"), (delete.Status, delete.Location));
        Assert.Equal(0, _backend.Requests);
    }

    [Fact]
    public async Task BehindATrustedTlsTerminatingBalancer_ForwardedNotRedirected_OthersStillRedirected()
    {
        // The balancer terminates TLS and forwards plain HTTP with X-Forwarded-Proto: https (issue 18 §3).
        var https = Ports.FreeTcp();
        await using var trusting = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--https", $"127.0.0.1:{https}", "--certs", _certs.FullName, "--trusted-proxies", "127.0.0.0/8"]);
        await using var trustingNobody = await StartAsync(Ports.FreeTcp());
        using var viaBalancer = Client(trusting.HttpPort);
        using var viaOutsider = Client(trustingNobody.HttpPort);

        await Wait.UntilAsync(async () => (await SendAsync(viaBalancer, HttpMethod.Get, "/x")).Status == HttpStatusCode.MovedPermanently, "secure to be routed");
        var forwarded = await SendAsync(viaBalancer, HttpMethod.Get, "/x", forwardedProto: "https");
        var plain = await SendAsync(viaBalancer, HttpMethod.Get, "/x", forwardedProto: "http");
        await Wait.UntilAsync(async () => (await SendAsync(viaOutsider, HttpMethod.Get, "/x")).Status == HttpStatusCode.MovedPermanently, "secure to be routed on the second router");
        var untrusted = await SendAsync(viaOutsider, HttpMethod.Get, "/x", forwardedProto: "https");

        Assert.Equal(HttpStatusCode.OK, forwarded.Status);
        Assert.Equal(HttpStatusCode.MovedPermanently, plain.Status);
        Assert.Equal((HttpStatusCode.MovedPermanently, $"https://secure.example.com:{https}/x"), (plain.Status, plain.Location));
        Assert.Equal(HttpStatusCode.MovedPermanently, untrusted.Status);
        Assert.Equal(1, _backend.Requests);
    }

    [Fact]
    public async Task AcmeChallenge_ForwardedOverPlainHttp()
    {
        await using var router = await StartAsync(Ports.FreeTcp());

        var (status, echo) = await WaitEchoAsync(router, "/.well-known/acme-challenge/token-1");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("/.well-known/acme-challenge/token-1", echo!.Path);
        Assert.Equal("http", echo.ForwardedProto);
    }

    [Fact]
    public async Task HostPort_FollowsTheSameRule()
    {
        var https = Ports.FreeTcp();
        await using var router = await StartAsync(https);
        using var client = Client(_hostPort);

        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await SendAsync(client, HttpMethod.Get, "/a")).Status == HttpStatusCode.MovedPermanently;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the host_port to redirect");
        var get = await SendAsync(client, HttpMethod.Get, "/a?b");
        var post = await SendAsync(client, HttpMethod.Post, "/a");
        var acme = await SendAsync(client, HttpMethod.Get, "/.well-known/acme-challenge/t");

        Assert.Equal($"https://secure.example.com:{https}/a?b", get.Location);
        Assert.Equal((HttpStatusCode.PermanentRedirect, $"https://secure.example.com:{https}/a"), (post.Status, post.Location));
        Assert.Equal(HttpStatusCode.OK, acme.Status);
    }

    [Fact]
    public async Task NoHttpsServed_503WithReason_ProblemInStatus_AcmeStillForwarded()
    {
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix);
        using var client = Client(router.HttpPort);

        await Wait.UntilAsync(async () => (await SendAsync(client, HttpMethod.Get, "/")).Status == HttpStatusCode.ServiceUnavailable, "secure to be routed");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/x");
        request.Headers.Host = "secure.example.com";
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var (acme, _) = await WaitEchoAsync(router, "/.well-known/acme-challenge/token-2");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("served over HTTPS only, and this router serves no HTTPS", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, acme);
        var problems = (await router.StatusAsync()).GetProperty("problems").EnumerateArray().ToList();
        Assert.Contains(problems, p => p.GetProperty("service").GetString() == "secure" && p.GetProperty("message").GetString()!.Contains("serves no HTTPS", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.GetProperty("service").GetString() == "mq" && p.GetProperty("message").GetString()!.Contains("tls service", StringComparison.Ordinal));
        Assert.Contains("https service, but this router serves no HTTPS", router.Process.Output, StringComparison.Ordinal);

        // The metric counts what /status lists, these two included.
        using var metrics = await router.AdminGetAsync("/metrics");
        Assert.Equal(problems.Count, MetricsText.Value(await metrics.Content.ReadAsStringAsync(), "router_registry_problems"));

        // Live changes (a watch event looks only at the services it touched): a service turned https is listed,
        // turned back to http it is resolved, and the others stay listed throughout.
        await _etcd.PutAsync($"{_prefix}/late/hosts/1", "127.0.0.1:9");
        await _etcd.PutAsync($"{_prefix}/late/scheme", "https");
        await Wait.UntilAsync(async () => (await ProblemServicesAsync(router)).Contains("late"), "late's problem to be listed");
        await _etcd.PutAsync($"{_prefix}/late/scheme", "http");
        await Wait.UntilAsync(async () => !(await ProblemServicesAsync(router)).Contains("late"), "late's problem to be resolved");
        // The log line is written with the change; the test reads the router's output a little behind.
        await Wait.UntilAsync(
            () => router.Process.Output.Split('\n').Any(l => l.Contains("Problem resolved in service", StringComparison.Ordinal) && l.Contains("\"Service\":\"late\"", StringComparison.Ordinal)),
            "the router to log late's problem as resolved");
        Assert.Superset(new HashSet<string> { "secure", "mq" }, await ProblemServicesAsync(router));
    }

    private static async Task<HashSet<string>> ProblemServicesAsync(RouterProcess router) =>
        [.. (await router.StatusAsync()).GetProperty("problems").EnumerateArray().Select(p => p.GetProperty("service").GetString()!)];

    [Fact]
    public async Task HttpsServed_NoProblemReported()
    {
        await using var router = await StartAsync(Ports.FreeTcp());

        await WaitEchoAsync(router, "/.well-known/acme-challenge/t");
        var problems = (await router.StatusAsync()).GetProperty("problems").EnumerateArray();
        Assert.DoesNotContain(problems, p => p.GetProperty("message").GetString()!.Contains("serves no HTTPS", StringComparison.Ordinal));
    }

    private Task<RouterProcess> StartAsync(int httpsPort) =>
        RouterProcess.StartAsync(_etcd.Url, _prefix, ["--https", $"127.0.0.1:{httpsPort}", "--certs", _certs.FullName]);

    private static HttpClient Client(int port) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<(HttpStatusCode Status, string? Location)> SendAsync(HttpClient client, HttpMethod method, string path, string? forwardedProto = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Host = "secure.example.com";
        if (forwardedProto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", forwardedProto);
        }

        if (method == HttpMethod.Post)
        {
            request.Content = new StringContent("a=1");
        }

        using var response = await client.SendAsync(request);
        return (response.StatusCode, response.Headers.Location?.OriginalString);
    }

    private static async Task<(HttpStatusCode Status, BackendEcho? Echo)> WaitEchoAsync(RouterProcess router, string path)
    {
        (HttpStatusCode, BackendEcho?) last = default;
        await Wait.UntilAsync(async () =>
        {
            last = await router.EchoAsync("secure.example.com", path);
            return last.Item1 == HttpStatusCode.OK;
        }, $"{path} to be forwarded");
        return last;
    }
}
