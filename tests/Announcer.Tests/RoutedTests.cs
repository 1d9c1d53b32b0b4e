using System.Net;
using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>Backend + announcer + the real router: what a client sees as the check flips.</summary>
[Collection(EtcdTests.Name)]
public class RoutedTests(EtcdFixture fixture)
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task Check_FailsThenPasses_RouterAnswers503ThenRoutesAgain()
    {
        await using var backend = await HealthBackend.StartAsync();
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, backend.Address, more: ["--check", backend.HealthUrl]));
        var httpPort = Ports.FreeTcp();
        var adminPort = Ports.FreeTcp();
        await using var router = TestProcess.Start(RepoPaths.Executable("Router", "router"),
        [
            "--etcd", _etcd.Url, "--prefix", _prefix,
            "--http", $"127.0.0.1:{httpPort}", "--admin", $"127.0.0.1:{adminPort}", "--dns", "off",
        ], name: "router");
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"),
            Timeout = TimeSpan.FromSeconds(10),
        };

        await WaitStatusAsync(client, router, HttpStatusCode.OK, $"backend {backend.Port}");

        backend.Healthy = false;
        await WaitStatusAsync(client, router, HttpStatusCode.ServiceUnavailable);

        backend.Healthy = true;
        await WaitStatusAsync(client, router, HttpStatusCode.OK, $"backend {backend.Port}");
        Assert.False(announcer.HasExited);
    }

    private static Task WaitStatusAsync(HttpClient client, TestProcess router, HttpStatusCode expected, string? body = null) =>
        Wait.UntilAsync(async () =>
        {
            if (router.HasExited)
            {
                throw new InvalidOperationException($"the router exited with {router.ExitCode}:\n{router.Output}");
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Host = "web.local";
            using var response = await client.SendAsync(request);
            return response.StatusCode == expected
                && (body is null || await response.Content.ReadAsStringAsync() == body);
        }, $"web.local to answer {(int)expected}", TimeSpan.FromSeconds(30));
}
