using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// A backend that goes away and comes back, as the real router's log tells it: one warning when it starts
/// failing and one information line when it answers again, however many requests or connections met it in
/// between, on the direct HTTP path, YARP's path and the TCP relay alike (whose "no usable host" line is
/// throttled, not written per connection).
/// </summary>
public sealed class HostHealthLogEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    private const int Requests = 20;
    private const string FailedTemplate = "failed ({Reason}); set aside, trying another";
    private const string BackTemplate = "host {Host} answering again; back in use";

    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Theory]
    [InlineData("direct")]
    [InlineData("yarp")]
    public async Task HttpHostGoneAndBack_OneWarningAndOneRecoveryLine(string forwarder)
    {
        var port = Ports.FreeTcp();
        var address = $"127.0.0.1:{port}";
        var backend = await TestBackend.StartAsync("web-1", port);
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--http-forwarder", forwarder]);
        await router.WaitRoutedAsync("web.example.com");

        await backend.DisposeAsync();
        for (var i = 0; i < Requests; i++)
        {
            // The only host refuses (or sits out its pause): nothing can answer.
            using var response = await router.GetAsync("web.example.com", $"/down/{i}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        await using var again = await TestBackend.StartAsync("web-1", port);
        // The first success comes once the host's pause (2 s, longer after each failure) is over.
        await router.WaitRoutedAsync("web.example.com");
        for (var i = 0; i < Requests; i++)
        {
            using var response = await router.GetAsync("web.example.com", $"/up/{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await WaitLogCaughtUpAsync(router);
        var failed = Assert.Single(Lines(router, FailedTemplate, address));
        Assert.Equal("Warning", Level(failed));
        var back = Assert.Single(Lines(router, BackTemplate, address));
        Assert.Equal("Information", Level(back));
        Assert.Equal("web", back.GetProperty("Service").GetString());
        Assert.True(Enumerable.Range(0, Requests).All(i => again.Seen($"/up/{i}")), "the requests after the recovery reached the backend");
    }

    [Fact]
    public async Task TcpHostGoneAndBack_OneWarningAndOneRecoveryLine()
    {
        var backendPort = Ports.FreeTcp();
        var address = $"127.0.0.1:{backendPort}";
        var hostPort = Ports.FreeTcp();
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix);
        await _etcd.PutAsync($"{_prefix}/db/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/db/hosts/1", address);
        await _etcd.PutAsync($"{_prefix}/db/host_port", hostPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Wait.UntilAsync(async () =>
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await probe.ConnectAsync(IPAddress.Loopback, hostPort);
            return true;
        }, $"host_port {hostPort} to listen");

        // Nothing listens on the backend's port: each connection is closed by the router, empty.
        for (var i = 0; i < Requests; i++)
        {
            using var client = await TcpTestClient.ConnectAsync(hostPort);
            Assert.Empty(await client.ReadToEndAsync());
        }

        // The backend comes back: its kernel completes the handshake, which is all the router's connect needs.
        using var backend = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        backend.Bind(new IPEndPoint(IPAddress.Loopback, backendPort));
        backend.Listen(512);
        await Wait.UntilAsync(async () =>
        {
            using var client = await TcpTestClient.ConnectAsync(hostPort);
            return Lines(router, BackTemplate, address).Count > 0;
        }, "the recovery line", TimeSpan.FromSeconds(60));
        for (var i = 0; i < Requests; i++)
        {
            using var client = await TcpTestClient.ConnectAsync(hostPort);
        }

        await WaitLogCaughtUpAsync(router);
        var failed = Assert.Single(Lines(router, FailedTemplate, address));
        Assert.Equal("Warning", Level(failed));
        var back = Assert.Single(Lines(router, BackTemplate, address));
        Assert.Equal("Information", Level(back));
        Assert.Equal("db", back.GetProperty("Service").GetString());

        // Each connection while it was down found no usable host: that line is throttled too (one per 10 s, with
        // the count held back), never one per connection.
        var noHost = Events(router).Where(e => Template(e).Contains("no usable host", StringComparison.Ordinal)).ToList();
        Assert.InRange(noHost.Count, 1, Requests / 2);
    }

    /// <summary>
    /// A registry change written now, and its line seen: stdout is read in order, so every line the router
    /// wrote before it (for the requests above) has been read too.
    /// </summary>
    private async Task WaitLogCaughtUpAsync(RouterProcess router)
    {
        await _etcd.PutAsync($"{_prefix}/sentinel/scheme", "http");
        await Wait.UntilAsync(() => Events(router).Any(e => e.TryGetProperty("Changes", out var c) && c.GetString()!.Contains("sentinel added", StringComparison.Ordinal)), "the sentinel's change line");
    }

    /// <summary>The lines about <paramref name="host"/> whose message template ends with or contains <paramref name="template"/>.</summary>
    private static List<JsonElement> Lines(RouterProcess router, string template, string host) =>
        [.. Events(router).Where(e => Template(e).Contains(template, StringComparison.Ordinal) && e.TryGetProperty("Host", out var h) && h.GetString() == host)];

    private static IEnumerable<JsonElement> Events(RouterProcess router) =>
        router.Process.Lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone());

    private static string Template(JsonElement e) => e.TryGetProperty("@mt", out var t) ? t.GetString() ?? "" : "";

    // Serilog's compact format leaves @l out for Information.
    private static string Level(JsonElement e) => e.TryGetProperty("@l", out var l) ? l.GetString() ?? "" : "Information";
}
