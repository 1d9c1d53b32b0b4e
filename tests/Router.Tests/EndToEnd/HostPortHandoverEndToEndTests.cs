using System.Globalization;
using System.Net;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// A host_port handed over: the older claimant lets the port go and the other service takes it. Nothing may
/// stay "draining" in <c>/status</c> or in <c>router_host_port_connections</c>, and the new owner's open
/// connections are counted while they are open.
/// </summary>
public sealed class HostPortHandoverEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture, "--drain-timeout", "30")
{
    [Fact]
    public async Task HandedOver_NothingOpen_OldEntryGoneAndNewOwnerCountsItsRelay()
    {
        var (port, _) = await HandOverAsync(holdFirst: false);

        await WaitNoDrainingAsync(port);

        using (var relay = await TcpTestClient.ConnectAsync(port))
        {
            Assert.Equal("second", await relay.ReadLineAsync());
            await WaitCountAsync(port, "second", 1);
            Assert.Equal("ping"u8.ToArray(), await relay.RoundTripAsync("ping"u8.ToArray()));
        }

        await WaitCountAsync(port, "second", 0);
        await WaitNoDrainingAsync(port);
    }

    [Fact]
    public async Task HandedOver_RelayOpenOnOldOwner_DrainsThenGone()
    {
        var (port, held) = await HandOverAsync(holdFirst: true);
        using (held)
        {
            // The old owner's relay still works while it drains; the new owner has its own count.
            Assert.Equal("still"u8.ToArray(), await held!.RoundTripAsync("still"u8.ToArray()));
            await WaitCountAsync(port, "second", 0);
        }

        await WaitNoDrainingAsync(port);
    }

    /// <summary>first owns the port (older key), second claims it too; then first lets it go.</summary>
    private async Task<(int Port, TcpTestClient? Held)> HandOverAsync(bool holdFirst)
    {
        var first = Own(TcpEchoServer.Start("first"));
        var second = Own(TcpEchoServer.Start("second"));
        var port = Ports.FreeTcp();
        await RegisterTcpAsync("first", first, port);
        await WaitListeningAsync(port);
        await RegisterTcpAsync("second", second, port);
        await Wait.UntilAsync(async () => Problems(await Proxy.StatusAsync()).Any(p => p.Contains("already claimed by service 'first'", StringComparison.Ordinal)), "the conflict in /status");

        TcpTestClient? held = null;
        if (holdFirst)
        {
            held = await TcpTestClient.ConnectAsync(port);
            Assert.Equal("first", await held.ReadLineAsync());
            await WaitCountAsync(port, "first", 1);
        }

        await Etcd.DeleteAsync($"{Prefix}/first/host_port");
        await Wait.UntilAsync(async () =>
        {
            using var next = await TcpTestClient.ConnectAsync(port);
            return await next.ReadLineAsync() == "second";
        }, "the port to pass to the second service");
        return (port, held);
    }

    private async Task RegisterTcpAsync(string service, TcpEchoServer host, int port)
    {
        await Etcd.PutAsync($"{Prefix}/{service}/scheme", "tcp");
        await Etcd.PutAsync($"{Prefix}/{service}/hosts/1", host.Address);
        await Etcd.PutAsync($"{Prefix}/{service}/host_port", port.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until /status and /metrics both say <paramref name="service"/> listens on the port with that many open.</summary>
    private Task WaitCountAsync(int port, string service, int connections) =>
        Wait.UntilAsync(async () =>
        {
            var listening = Listeners(await Proxy.StatusAsync(), port).Where(l => l.GetProperty("state").GetString() == "listening").ToList();
            var series = (await MetricsAsync()).Where(s => s.Name == "router_host_port_connections" && s.Labels["port"] == port.ToString(CultureInfo.InvariantCulture) && s.Labels["state"] == "listening").ToList();
            return listening.Count == 1 && listening[0].GetProperty("service").GetString() == service && listening[0].GetProperty("connections").GetInt32() == connections
                && series.Count == 1 && series[0].Labels["service"] == service && series[0].Value == connections;
        }, $"{service} to show {connections} open on port {port}");

    private Task WaitNoDrainingAsync(int port) =>
        Wait.UntilAsync(async () =>
            !Listeners(await Proxy.StatusAsync(), port).Any(l => l.GetProperty("state").GetString() == "draining")
            && !(await MetricsAsync()).Any(s => s.Name == "router_host_port_connections" && s.Labels["port"] == port.ToString(CultureInfo.InvariantCulture) && s.Labels["state"] != "listening"),
            $"no draining listener left on port {port}");

    private async Task<IReadOnlyList<PrometheusText.Sample>> MetricsAsync()
    {
        using var response = await Proxy.AdminGetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    private static IEnumerable<JsonElement> Listeners(JsonElement status, int port) =>
        status.GetProperty("listeners").EnumerateArray().Where(l => l.GetProperty("port").GetInt32() == port);

    private static IEnumerable<string> Problems(JsonElement status) =>
        status.GetProperty("problems").EnumerateArray().Select(p => p.GetProperty("message").GetString() ?? "");
}
