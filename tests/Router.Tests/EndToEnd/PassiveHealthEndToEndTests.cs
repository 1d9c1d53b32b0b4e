using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// A host's passive health (set aside after a connect failure, back after a success) is only changed by a
/// connect that ended: a client that leaves while the router is still connecting says nothing of the host,
/// on all three forwarding paths.
/// </summary>
public sealed class PassiveHealthEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    private const string Host = "web.example.com";

    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Theory]
    [InlineData("direct")]
    [InlineData("kestrel")]
    [InlineData("yarp")]
    public async Task ClientLeavesWhileConnecting_FailingHostNotBroughtBack(string forwarder)
    {
        // The only host never answers a SYN: each connect ends in the router's 3 s timeout.
        using var stuck = await StuckListener.StartAsync();
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", stuck.Address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--http-forwarder", forwarder]);

        // One connect that timed out: the host is set aside, with one failure.
        await router.WaitStatusAsync(Host, "/", HttpStatusCode.ServiceUnavailable);
        Assert.Equal(1, Failures(await HostAsync(router)));

        // Its pause over, the next request tries it again; its client leaves while the SYN goes unanswered.
        await Wait.UntilAsync(async () => (await HostAsync(router)).GetProperty("health").GetString() == "up", "the host's pause to end");
        var before = await RequestsAsync(router);
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await client.ConnectAsync(IPAddress.Loopback, router.HttpPort);
            await client.SendAsync(Encoding.ASCII.GetBytes($"GET /left HTTP/1.1\r\nHost: {Host}\r\n\r\n"));
            await Wait.UntilAsync(() => stuck.HalfOpenConnects() == 1, "the router to be connecting to the host");
        }

        await Wait.UntilAsync(async () => await RequestsAsync(router) == before + 1, "the request to end");

        // Nothing reached the host: it still counts its one failure, and was not reported answering again.
        var host = await HostAsync(router);
        Assert.Equal(1, Failures(host));
        if (forwarder != "yarp")
        {
            Assert.Equal(1, await CounterAsync(router, "router_direct_client_aborts_total"));
        }
    }

    private static int Failures(JsonElement host) => host.GetProperty("consecutiveFailures").GetInt32();

    private static async Task<JsonElement> HostAsync(RouterProcess router) =>
        (await router.StatusAsync()).GetProperty("services")[0].GetProperty("hosts")[0];

    /// <summary>Requests the router finished for the service, whatever their status.</summary>
    private static async Task<long> RequestsAsync(RouterProcess router) =>
        (await MetricsAsync(router)).Where(l => l.StartsWith("router_service_requests_total{service=\"web\",", StringComparison.Ordinal))
            .Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    private static async Task<long> CounterAsync(RouterProcess router, string name) =>
        long.Parse((await MetricsAsync(router)).Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture);

    private static async Task<string[]> MetricsAsync(RouterProcess router)
    {
        using var scrape = await router.AdminGetAsync("/metrics");
        return (await scrape.Content.ReadAsStringAsync()).Split('\n');
    }
}
