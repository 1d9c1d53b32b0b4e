using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// TCP relay limits counted at accept, relays of outsiders closed when a service turns private, and the
/// relay counters in <c>/metrics</c>. Each test starts its own router.
/// </summary>
public sealed class TcpRelayLimitsEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task Burst_AgainstSilentBackend_AdmittedAtMostTheLimit_RestRefusedAndCounted()
    {
        const int Limit = 5;
        const int Burst = 40;

        // A backend that never accepts or answers: the kernel completes the connects, so every admitted relay
        // stays open for the whole test and nothing frees a place for a latecomer.
        using var silent = Ports.ListenLoopback();
        var port = await RegisterAsync("db", $"127.0.0.1:{((IPEndPoint)silent.LocalEndPoint!).Port}");
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--tcp-max-connections", Limit.ToString(CultureInfo.InvariantCulture)]);
        await Wait.UntilAsync(async () => (await router.StatusAsync()).GetProperty("listeners").GetArrayLength() == 1, "the host_port listener");

        var clients = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => ConnectAsync(IPAddress.Loopback, port)));
        try
        {
            string metrics = "";
            await Wait.UntilAsync(async () =>
            {
                metrics = await MetricsAsync(router);
                return Accepted(metrics, "db") + Refused(metrics, "db") == Burst;
            }, "every connection of the burst to be admitted or refused");

            Assert.Equal(Limit, Accepted(metrics, "db"));
            Assert.Equal(Burst - Limit, Refused(metrics, "db"));
            await Wait.UntilAsync(async () => (await router.StatusAsync()).GetProperty("listeners")[0].GetProperty("connections").GetInt32() == Limit, $"/status to show {Limit} open connections");

            // One warning for the whole burst, not one per refusal.
            Assert.InRange(router.Process.Lines.Count(l => l.Contains("connection limit reached", StringComparison.Ordinal)), 1, 2);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task ServiceTurnsPrivate_OutsiderRelayClosed_InsiderRelayKept()
    {
        await using var echo = TcpEchoServer.Start("db-1");
        var port = await RegisterAsync("db", echo.Address);

        // Only 127.0.0.2 is internal: a client from 127.0.0.1 is an outsider.
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--internal-networks", "127.0.0.2/32"]);
        await WaitRelayedAsync(port);

        using var outsiderClient = await TcpTestClient.ConnectFromAsync(IPAddress.Loopback, port);
        using var insiderClient = await TcpTestClient.ConnectFromAsync(IPAddress.Parse("127.0.0.2"), port);
        Assert.Equal("db-1", await outsiderClient.ReadLineAsync());
        Assert.Equal("db-1", await insiderClient.ReadLineAsync());
        Assert.Equal("before"u8.ToArray(), await outsiderClient.RoundTripAsync("before"u8.ToArray()));

        await _etcd.PutAsync($"{_prefix}/db/private", "");

        // The router closes the outsider's relay (ReadToEnd returns when it does); the insider's goes on.
        Assert.Empty(await outsiderClient.ReadToEndAsync());
        Assert.Equal("after"u8.ToArray(), await insiderClient.RoundTripAsync("after"u8.ToArray()));
        await router.Process.WaitForOutputAsync("the service is private now");
    }

    [Fact]
    public async Task Relays_CountersMove_ConnectionsBytesAndConnectFailures()
    {
        await using var echo = TcpEchoServer.Start("db-1");
        var port = await RegisterAsync("db", echo.Address);
        var deadPort = await RegisterAsync("dead", $"127.0.0.1:{Ports.FreeTcp()}");
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix);
        await WaitRelayedAsync(port);
        var before = await MetricsAsync(router);

        var payload = new byte[100_000];
        Random.Shared.NextBytes(payload);
        using (var client = await TcpTestClient.ConnectAsync(port))
        {
            Assert.Equal("db-1", await client.ReadLineAsync());
            Assert.Equal(payload, await client.RoundTripAsync(payload));
        }

        await WaitListeningAsync(deadPort);
        using (var client = await TcpTestClient.ConnectAsync(deadPort))
        {
            Assert.Empty(await client.ReadToEndAsync());
        }

        var after = await MetricsAsync(router);
        Assert.Equal(Accepted(before, "db") + 1, Accepted(after, "db"));
        Assert.True(Counter(after, "router_tcp_bytes_in_total", "db") - Counter(before, "router_tcp_bytes_in_total", "db") >= payload.Length);

        // The echo: the payload and the backend's name line ("db-1\n").
        Assert.True(Counter(after, "router_tcp_bytes_out_total", "db") - Counter(before, "router_tcp_bytes_out_total", "db") >= payload.Length + 5);
        Assert.True(Counter(after, "router_tcp_connect_failures_total", "dead") >= 1);
        Assert.Equal(0, Counter(after, "router_tcp_connect_failures_total", "db"));
    }

    private static double Accepted(string metrics, string service) => Counter(metrics, "router_tcp_connections_total", service);

    private static double Refused(string metrics, string service) => Counter(metrics, "router_tcp_connections_refused_total", service);

    private static double Counter(string metrics, string name, string service) => MetricsText.Value(metrics, $"{name}{{service=\"{service}\"}}");

    private static async Task<string> MetricsAsync(RouterProcess router)
    {
        using var response = await router.AdminGetAsync("/metrics");
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<Socket> ConnectAsync(IPAddress source, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Bind(new IPEndPoint(source, 0));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return socket;
    }

    private static Task WaitListeningAsync(int port) =>
        Wait.UntilAsync(async () =>
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await probe.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }, $"port {port} to listen");

    private static Task WaitRelayedAsync(int port) =>
        Wait.UntilAsync(async () =>
        {
            using var client = await TcpTestClient.ConnectAsync(port);
            return await client.ReadLineAsync() == "db-1";
        }, $"port {port} to relay");

    private async Task<int> RegisterAsync(string service, string host)
    {
        var port = Ports.FreeTcp();
        await _etcd.PutAsync($"{_prefix}/{service}/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/{service}/hosts/1", host);
        await _etcd.PutAsync($"{_prefix}/{service}/host_port", port.ToString(CultureInfo.InvariantCulture));
        return port;
    }
}
