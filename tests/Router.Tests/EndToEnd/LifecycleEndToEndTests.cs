using System.Net;
using Router.Testing;

namespace Router.Tests;

/// <summary>The router process through etcd outages, bad command lines, start and stop. Each test has its own etcd.</summary>
public sealed class LifecycleEndToEndTests
{
    [Fact]
    public async Task EtcdStoppedAndRestarted_RoutingGoesOnAndLaterChangesApply()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var prefix = EtcdFixture.NewPrefix();
        await using var web = await TestBackend.StartAsync("web-1");
        await using var api = await TestBackend.StartAsync("api-1");
        await etcd.PutAsync($"{prefix}/web/scheme", "http");
        await etcd.PutAsync($"{prefix}/web/hosts/1", web.Address);
        await using var router = await RouterProcess.StartAsync(etcd.Url, prefix);
        await router.WaitRoutedAsync("web.example.com");

        await etcd.StopAsync();
        await Wait.UntilAsync(async () => !(await router.StatusAsync()).GetProperty("etcd").GetProperty("connected").GetBoolean(), "the router to see etcd gone");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await router.EchoAsync("web.example.com", "/")).Status);
        }

        using (var health = await router.AdminGetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        var age = (await router.StatusAsync()).GetProperty("etcd").GetProperty("tableAgeSeconds").GetDouble();
        Assert.True(age >= 0);

        await etcd.RestartAsync();
        await etcd.PutAsync($"{prefix}/api/scheme", "http");
        await etcd.PutAsync($"{prefix}/api/hosts/1", api.Address);

        await router.WaitRoutedAsync("api.example.com", "/", e => e.Name == "api-1");
        Assert.True((await router.StatusAsync()).GetProperty("etcd").GetProperty("connected").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await router.EchoAsync("web.example.com", "/")).Status);
    }

    [Fact]
    public async Task RestartedWhileEtcdAway_ServesSavedTableThenConverges()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var prefix = EtcdFixture.NewPrefix();
        var stateDir = Directory.CreateTempSubdirectory("router-state-");
        var stateFile = Path.Combine(stateDir.FullName, "registry.json");
        try
        {
            await using var web = await TestBackend.StartAsync("web-1");
            await using var api = await TestBackend.StartAsync("api-1");
            await etcd.PutAsync($"{prefix}/web/scheme", "http");
            await etcd.PutAsync($"{prefix}/web/hosts/1", web.Address);
            string[] args = ["--state-file", stateFile];

            await using (var first = await RouterProcess.StartAsync(etcd.Url, prefix, args))
            {
                await first.WaitRoutedAsync("web.example.com");
                first.Process.Signal(TestProcess.SigTerm);
                Assert.Equal(0, await first.Process.WaitForExitAsync());
            }

            Assert.True(File.Exists(stateFile), "the registry is saved on disk");
            await etcd.StopAsync();

            await using var second = await RouterProcess.StartAsync(etcd.Url, prefix, args, waitReady: false);
            await second.WaitRoutedAsync("web.example.com", "/", e => e.Name == "web-1");
            using (var ready = await second.AdminGetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            }

            Assert.Contains("Serving the registry saved in", second.Process.Output, StringComparison.Ordinal);

            await etcd.RestartAsync();
            await etcd.DeleteAsync($"{prefix}/web/scheme");
            await etcd.PutAsync($"{prefix}/api/scheme", "http");
            await etcd.PutAsync($"{prefix}/api/hosts/1", api.Address);
            await second.WaitReadyAsync();
            await second.WaitRoutedAsync("api.example.com");
            await second.WaitStatusAsync("web.example.com", "/", HttpStatusCode.NotFound);
        }
        finally
        {
            stateDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task EtcdUnreachableAtStart_AliveButNotReady()
    {
        var nowhere = $"http://127.0.0.1:{Ports.FreeTcp()}";
        await using var router = await RouterProcess.StartAsync(nowhere, "/services", waitReady: false);

        await Wait.UntilAsync(async () =>
        {
            using var health = await router.AdminGetAsync("/healthz");
            return health.StatusCode == HttpStatusCode.OK;
        }, "the admin port");
        using var ready = await router.AdminGetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.False(router.Process.HasExited);
    }

    [Theory]
    [InlineData("--http", "nonsense", "router: --http:")]
    [InlineData("--frobnicate", "1", "router: --frobnicate: unknown option")]
    [InlineData("--etcd", "gopher://x:1", "router: --etcd:")]
    public async Task BadCommandLine_Exit2WithOneLineNamingTheOption(string option, string value, string expected)
    {
        await using var process = TestProcess.Start(RouterProcess.Executable, [option, value, "--dns", "off"]);

        Assert.Equal(2, await process.WaitForExitAsync());
        var line = Assert.Single(process.Lines, l => l.Length > 0);
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_PrintsUsageExit0()
    {
        await using var process = TestProcess.Start(RouterProcess.Executable, ["--help"]);

        Assert.Equal(0, await process.WaitForExitAsync());
        Assert.Contains("--dns-upstream", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_ReadyzTurns503AndExits0()
    {
        await using var setup = await SlowService.StartAsync();
        var (slow, router) = (setup.Backend, setup.Router);

        // A request in flight when SIGTERM arrives still completes.
        var inFlight = router.EchoAsync("slow.example.com", "/slow?ms=1500");
        await Wait.UntilAsync(() => slow.Seen("/slow"), "the slow request to reach the backend");
        router.Process.Signal(TestProcess.SigTerm);

        var (status, echo) = await inFlight;
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("/slow", echo!.Path);
        Assert.Equal(0, await router.Process.WaitForExitAsync());

        // A clean stop logs no error: the watch, listeners and DNS end quietly.
        Assert.DoesNotContain("\"@l\":\"Fatal\"", router.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\"@l\":\"Critical\"", router.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\"@l\":\"Error\"", router.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_KeptAliveConnectionsClosedBetweenRequests_OneInFlightAnsweredFirst()
    {
        await using var setup = await SlowService.StartAsync();
        var (slow, router) = (setup.Backend, setup.Router);

        // Two kept-alive connections, each answered a plain GET: one then idles (the idle timeout is 75 s), the
        // other asks again and waits for a slow answer when SIGTERM comes.
        using var idle = await RawHttpClient.OpenAsync(router.HttpPort);
        Assert.Equal(200, (await idle.ExchangeAsync("GET /a HTTP/1.1\r\nHost: slow.example.com\r\n\r\n")).Status);
        using var busy = await RawHttpClient.OpenAsync(router.HttpPort);
        Assert.Equal(200, (await busy.ExchangeAsync("GET /b HTTP/1.1\r\nHost: slow.example.com\r\n\r\n")).Status);
        await busy.SendAsync("GET /slow?ms=1500 HTTP/1.1\r\nHost: slow.example.com\r\n\r\n");
        await Wait.UntilAsync(() => slow.Seen("/slow"), "the slow request to reach the backend");
        router.Process.Signal(TestProcess.SigTerm);

        // The request in flight is answered, told the connection closes, and it does; the idle one is closed.
        var last = await busy.ReadResponseAsync();
        Assert.Equal(200, last.Status);
        Assert.Equal("close", last.Header("Connection"));
        await Assert.ThrowsAsync<IOException>(() => busy.ReadResponseAsync());
        await Assert.ThrowsAsync<IOException>(() => idle.ReadResponseAsync());
        Assert.Equal(0, await router.Process.WaitForExitAsync());
        Assert.DoesNotContain("\"@l\":\"Error\"", router.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_PlainRequestToABackendThatNeverAnswers_CutAtTheShutdownTimeout_RouterExits0()
    {
        // The stop waits --drain-timeout (1 s) and 2 s more for requests in flight; the backend would take 60 s.
        await using var setup = await SlowService.StartAsync("--drain-timeout", "1");
        var (slow, router) = (setup.Backend, setup.Router);
        using var client = await RawHttpClient.OpenAsync(router.HttpPort);
        await client.SendAsync("GET /slow?ms=60000 HTTP/1.1\r\nHost: slow.example.com\r\n\r\n");
        await Wait.UntilAsync(() => slow.Seen("/slow"), "the slow request to reach the backend");
        router.Process.Signal(TestProcess.SigTerm);

        Assert.Equal(0, await router.Process.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        await Assert.ThrowsAsync<IOException>(() => client.ReadResponseAsync());
    }

    [Fact]
    public async Task Sigterm_WithShutdownDelay_NotReadyButStillServingThenExits0()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var prefix = EtcdFixture.NewPrefix();
        await using var web = await TestBackend.StartAsync("web-1");
        await etcd.PutAsync($"{prefix}/web/scheme", "http");
        await etcd.PutAsync($"{prefix}/web/hosts/1", web.Address);
        await using var router = await RouterProcess.StartAsync(etcd.Url, prefix, ["--shutdown-delay", "3"]);
        await router.WaitRoutedAsync("web.example.com");

        router.Process.Signal(TestProcess.SigTerm);

        // During the delay: the balancer's check and /readyz say 503, and requests are still served.
        await Wait.UntilAsync(async () =>
        {
            using var ready = await router.AdminGetAsync("/readyz");
            return ready.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, "/readyz to turn 503");
        using (var lb = await router.GetAsync("example.com", "/_router/healthz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, lb.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await router.EchoAsync("web.example.com", "/")).Status);
        Assert.False(router.Process.HasExited);
        Assert.Equal(0, await router.Process.WaitForExitAsync());
    }

    [Fact]
    public async Task PrivateService_OnlyInternalClients()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var prefix = EtcdFixture.NewPrefix();
        await using var backend = await TestBackend.StartAsync("b");
        foreach (var name in new[] { "secret", "public" })
        {
            await etcd.PutAsync($"{prefix}/{name}/scheme", "http");
            await etcd.PutAsync($"{prefix}/{name}/hosts/1", backend.Address);
        }

        await etcd.PutAsync($"{prefix}/secret/private", "");

        // Loopback is not internal here, so the test client is an outsider.
        await using (var outside = await RouterProcess.StartAsync(etcd.Url, prefix, ["--internal-networks", "10.0.0.0/8"]))
        {
            await outside.WaitRoutedAsync("public.example.com");
            Assert.Equal(HttpStatusCode.NotFound, (await outside.GetAsync("secret.example.com", "/")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await outside.GetAsync("example.com", "/secret")).StatusCode);
        }

        await using var inside = await RouterProcess.StartAsync(etcd.Url, prefix);
        await inside.WaitRoutedAsync("secret.example.com");
    }

    /// <summary>A fresh etcd, one http service "slow" on a <see cref="TestBackend"/> (<c>/slow?ms=N</c>), and a router that routes it.</summary>
    private sealed class SlowService : IAsyncDisposable
    {
        private readonly EtcdProcess _etcd;

        private SlowService(EtcdProcess etcd, TestBackend backend, RouterProcess router) => (_etcd, Backend, Router) = (etcd, backend, router);

        public TestBackend Backend { get; }

        public RouterProcess Router { get; }

        public static async Task<SlowService> StartAsync(params string[] routerArgs)
        {
            var etcd = await EtcdProcess.StartAsync();
            TestBackend? backend = null;
            RouterProcess? router = null;
            try
            {
                backend = await TestBackend.StartAsync("slow");
                var prefix = EtcdFixture.NewPrefix();
                await etcd.PutAsync($"{prefix}/slow/scheme", "http");
                await etcd.PutAsync($"{prefix}/slow/hosts/1", backend.Address);
                router = await RouterProcess.StartAsync(etcd.Url, prefix, routerArgs);
                await router.WaitRoutedAsync("slow.example.com");
                return new SlowService(etcd, backend, router);
            }
            catch
            {
                // What started is stopped again, as the tests' own `await using` did.
                await (router?.DisposeAsync() ?? ValueTask.CompletedTask);
                await (backend?.DisposeAsync() ?? ValueTask.CompletedTask);
                await etcd.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Router.DisposeAsync();
            await Backend.DisposeAsync();
            await _etcd.DisposeAsync();
        }
    }
}
