using System.Net;
using System.Text;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>The real router process against a real etcd and real backends.</summary>
public sealed class RoutingEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    [Fact]
    public async Task Request_ByHostOrByPath_ReachesService()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await RegisterAsync("web", web);

        await Proxy.WaitRoutedAsync("web.example.com");
        foreach (var host in new[] { "web.example.com", "WEB.other.org", "web.local:80", "web" })
        {
            var (status, echo) = await Proxy.EchoAsync(host, "/x");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("web-1", echo!.Name);
        }

        var (byPath, pathEcho) = await Proxy.EchoAsync("example.com", "/web/a?b=1");
        Assert.Equal(HttpStatusCode.OK, byPath);
        Assert.Equal("/web/a", pathEcho!.Path);
        Assert.Equal("?b=1", pathEcho.Query);

        var (byIp, ipEcho) = await Proxy.EchoAsync("127.0.0.1", "/web");
        Assert.Equal(HttpStatusCode.OK, byIp);
        Assert.Equal("web-1", ipEcho!.Name);
    }

    [Fact]
    public async Task Request_NoMatch_404AndHealthPath200()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await RegisterAsync("web", web);
        await Proxy.WaitRoutedAsync("web.example.com");
        var before = web.Requests;

        Assert.Equal(HttpStatusCode.NotFound, (await Proxy.GetAsync("webx.example.com", "/webx")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Proxy.GetAsync("example.com", "/")).StatusCode);
        using var health = await Proxy.GetAsync("example.com", "/_router/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(before, web.Requests);
    }

    [Fact]
    public async Task Request_KnownServiceWithoutHosts_503()
    {
        await Etcd.PutAsync($"{Prefix}/empty/scheme", "http");

        await Proxy.WaitStatusAsync("empty.example.com", "/", HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task Request_StripPath_BackendSeesRest()
    {
        var api = await Own(TestBackend.StartAsync("api-1"));
        await RegisterAsync("api", api);
        await Etcd.PutAsync($"{Prefix}/api/strip_path", "true");

        await Proxy.WaitRoutedAsync("example.com", "/api/a?b=2", e => e.Path == "/a");
        var (_, echo) = await Proxy.EchoAsync("example.com", "/api/a?b=2");
        Assert.Equal("?b=2", echo!.Query);
        var (_, root) = await Proxy.EchoAsync("example.com", "/api");
        Assert.Equal("/", root!.Path);

        // Routed by Host, nothing is stripped.
        var (_, byHost) = await Proxy.EchoAsync("api.example.com", "/api/a");
        Assert.Equal("/api/a", byHost!.Path);
    }

    [Fact]
    public async Task Request_Forwarded_KeepsHostAndSetsForwardedHeaders()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await RegisterAsync("web", web);
        await Proxy.WaitRoutedAsync("web.example.com");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = "web.example.com:8080";
        request.Headers.Add("X-Forwarded-For", "203.0.113.9");
        using var response = await Proxy.Http.SendAsync(request);
        var echo = BackendEcho.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("web.example.com:8080", echo.Host);
        // Not a trusted proxy (--trusted-proxies): the client's own list is replaced by its address.
        Assert.Equal("127.0.0.1", echo.ForwardedFor);
        Assert.Equal("http", echo.ForwardedProto);
        Assert.Equal("web.example.com:8080", echo.ForwardedHost);
    }

    [Fact]
    public async Task Request_SeveralHosts_SpreadOverAll()
    {
        var a = await Own(TestBackend.StartAsync("a"));
        var b = await Own(TestBackend.StartAsync("b"));
        await RegisterAsync("web", a, b);
        await WaitHostsAsync("web", 2);

        var names = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            names.Add((await Proxy.EchoAsync("web.x", "/")).Echo!.Name);
        }

        Assert.Equal(10, names.Count(n => n == "a"));
        Assert.Equal(10, names.Count(n => n == "b"));
    }

    [Fact]
    public async Task Request_DeadHostRegistered_RetriedOnLiveHostAndSetAside()
    {
        var live = await Own(TestBackend.StartAsync("live"));
        var deadPort = Ports.FreeTcp();
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/dead", $"127.0.0.1:{deadPort}");
        await Etcd.PutAsync($"{Prefix}/web/hosts/live", live.Address);
        await WaitHostsAsync("web", 2);

        for (var i = 0; i < 10; i++)
        {
            using var post = new HttpRequestMessage(HttpMethod.Post, "/submit") { Content = new StringContent($"body-{i}", Encoding.UTF8) };
            post.Headers.Host = "web.example.com";
            using var response = await Proxy.Http.SendAsync(post);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var echo = BackendEcho.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal($"body-{i}", echo.Body);
        }

        var status = await Proxy.StatusAsync();
        var dead = Service(status, "web").GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("id").GetString() == "dead");
        Assert.Equal("set-aside", dead.GetProperty("health").GetString());
    }

    [Fact]
    public async Task HostDeleted_GetsNoNewRequests()
    {
        var keep = await Own(TestBackend.StartAsync("keep"));
        var gone = await Own(TestBackend.StartAsync("gone"));
        await RegisterAsync("web", keep, gone);
        await WaitHostsAsync("web", 2);

        await Etcd.DeleteAsync($"{Prefix}/web/hosts/2");
        await WaitHostsAsync("web", 1);
        var before = gone.Requests;

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("keep", (await Proxy.EchoAsync("web.x", "/")).Echo!.Name);
        }

        Assert.Equal(before, gone.Requests);
    }

    [Fact]
    public async Task BadRegistryData_ReportedAndEverythingElseRoutes()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await RegisterAsync("web", web);
        await Proxy.WaitRoutedAsync("web.example.com");

        await Etcd.PutAsync($"{Prefix}/unknown/scheme", "gopher");
        await Etcd.PutAsync($"{Prefix}/noscheme/hosts/1", web.Address);
        await Etcd.PutAsync($"{Prefix}/bad_name/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/broken", "127.0.0.1:notaport");
        await Etcd.PutAsync($"{Prefix}/web/hosts/nobrackets", "fd00::1:80");
        await Etcd.PutAsync($"{Prefix}/bytes/scheme", [0xff, 0x00, 0xfe]);
        await Etcd.PutAsync($"{Prefix}/huge/scheme", Encoding.ASCII.GetBytes(new string('h', 1_000_000)));
        await Etcd.PutAsync($"{Prefix}/port/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/port/host_port", "70000");
        await Etcd.PutAsync($"{Prefix}/db/scheme", "tcp");

        await Wait.UntilAsync(async () => (await Proxy.StatusAsync()).GetProperty("problems").GetArrayLength() >= 9, "every problem in /status");
        var problems = (await Proxy.StatusAsync()).GetProperty("problems").EnumerateArray()
            .Select(p => p.GetProperty("key").GetString()).ToList();
        Assert.Contains($"{Prefix}/unknown/scheme", problems);
        Assert.Contains($"{Prefix}/noscheme/hosts/1", problems);
        Assert.Contains($"{Prefix}/bad_name/scheme", problems);
        Assert.Contains($"{Prefix}/web/hosts/broken", problems);
        Assert.Contains($"{Prefix}/web/hosts/nobrackets", problems);
        Assert.Contains($"{Prefix}/bytes/scheme", problems);
        Assert.Contains($"{Prefix}/huge/scheme", problems);
        Assert.Contains($"{Prefix}/port/host_port", problems);
        Assert.Contains($"{Prefix}/db/host_port", problems);

        Assert.False(Proxy.Process.HasExited);
        var (status, echo) = await Proxy.EchoAsync("web.example.com", "/");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("web-1", echo!.Name);
        Assert.Equal(HttpStatusCode.NotFound, (await Proxy.GetAsync("unknown.example.com", "/")).StatusCode);
    }

    [Fact]
    public async Task HttpsOnlyService_RouterWithoutHttps_503NotARedirect()
    {
        // This router has no --https: a redirect would point at a port nobody serves (HttpsRedirectEndToEndTests
        // covers the redirects of a router that serves HTTPS).
        var web = await Own(TestBackend.StartAsync("secure"));
        await RegisterAsync("secure", web, scheme: "https");

        await Proxy.WaitStatusAsync("secure.example.com", "/a?b", HttpStatusCode.ServiceUnavailable);
        using var response = await Proxy.GetAsync("secure.example.com", "/a?b");
        Assert.Null(response.Headers.Location);
        Assert.Contains("served over HTTPS only", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, web.Requests);
    }

    [Fact]
    public async Task Admin_Status_ShowsEtcdAndServices()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await RegisterAsync("web", web);
        await WaitHostsAsync("web", 1);

        var status = await Proxy.StatusAsync();

        Assert.True(status.GetProperty("etcd").GetProperty("connected").GetBoolean());
        Assert.True(status.GetProperty("etcd").GetProperty("revision").GetInt64() > 0);
        Assert.Equal(Etcd.Url + "/", status.GetProperty("etcd").GetProperty("endpoints")[0].GetString());
        Assert.True(status.GetProperty("ready").GetBoolean());
        var host = Service(status, "web").GetProperty("hosts")[0];
        Assert.Equal(web.Address, host.GetProperty("address").GetString());
        Assert.Equal("up", host.GetProperty("health").GetString());
        using var health = await Proxy.AdminGetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Admin_Metrics_CountRequestsAndShowHostsAndRegistry()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await RegisterAsync("web", web);
        const string requests = "router_service_requests_total{service=\"web\",code=\"200\",method=\"GET\"}";
        const string durations = "router_service_request_duration_seconds_count{service=\"web\"}";
        await Proxy.WaitRoutedAsync("web.example.com");

        // A request is counted once its response has gone out, so a client can read /metrics a moment before
        // its own request is in them: each count is waited for, and must then be exact.
        await Wait.UntilAsync(async () => await MetricAsync(requests) == 1 && await MetricAsync(durations) == 1, "the routed check's request to be counted");
        for (var i = 0; i < 3; i++)
        {
            await Proxy.EchoAsync("web.example.com", "/");
        }

        await Wait.UntilAsync(async () => await MetricAsync(requests) >= 4 && await MetricAsync(durations) >= 4, "the three requests to be counted");
        Assert.Equal(4, await MetricAsync(requests));
        Assert.Equal(4, await MetricAsync(durations));
        Assert.Equal(1, await MetricAsync("router_service_server_up{service=\"web\",instance=\"1\"}"));
        Assert.True(await MetricAsync("router_registry_revision") > 0);
        Assert.Equal(1, await MetricAsync("router_registry_connected"));
    }

    [Fact]
    public async Task Admin_StatusPage_ShowsServicesAndEscapedProblemsFirst()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await RegisterAsync("web", web);
        await Etcd.PutAsync($"{Prefix}/web/hosts/evil", "<script>alert(1)</script>:80");
        await Wait.UntilAsync(async () => (await Proxy.StatusAsync()).GetProperty("problems").GetArrayLength() == 1, "the problem");

        using var response = await Proxy.AdminGetAsync("/");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
        Assert.True(html.IndexOf("Problems (1)", StringComparison.Ordinal) < html.IndexOf("Services (1)", StringComparison.Ordinal));
        Assert.Contains(web.Address, html, StringComparison.Ordinal);
    }

    private async Task<double> MetricAsync(string series)
    {
        using var response = await Proxy.AdminGetAsync("/metrics");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var line = (await response.Content.ReadAsStringAsync()).Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task RegisterAsync(string service, params TestBackend[] backends) => await RegisterAsync(service, backends, "http");

    private async Task RegisterAsync(string service, TestBackend backend, string scheme) => await RegisterAsync(service, [backend], scheme);

    private async Task RegisterAsync(string service, TestBackend[] backends, string scheme)
    {
        await Etcd.PutAsync($"{Prefix}/{service}/scheme", scheme);
        for (var i = 0; i < backends.Length; i++)
        {
            await Etcd.PutAsync($"{Prefix}/{service}/hosts/{i + 1}", backends[i].Address);
        }
    }

    private static JsonElement Service(JsonElement status, string name) =>
        status.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);
}
