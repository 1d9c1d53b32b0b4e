using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// A TCP connection flood against a router whose open-file limit is low (started under <c>prlimit</c>):
/// the relays stop at what the limit allows, and port 80, the admin port and the process are unharmed.
/// </summary>
// Alone: floods 600 connections into a router with a low open-file limit; other tests' sockets and CPU would disturb the counts it asserts.
[Collection(AloneGroup.Name)]
public sealed class TcpFloodEndToEndTests(SharedEtcdFixture fixture)
{
    // (1024 - 256 reserved) / 4: the relays this router may hold on all ports (docs/reliability.md, Limits).
    private const int OpenFiles = 1024;
    private const int RelayBudget = 192;

    // More relays than the limit has descriptors for (2 each): without the budget, accept would hit EMFILE.
    private const int Flood = 600;

    /// <summary>Probe relays of WaitRelayedAsync that may still be closing when the flood is refused.</summary>
    private const int ProbeSlack = 5;

    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task Flood_BeyondOpenFileLimit_Port80AndAdminServe_RelaysCappedLogBounded()
    {
        await using var echo = TcpEchoServer.Start("db-1");
        await using var web = await TestBackend.StartAsync("web-1");
        var tcpPort = Ports.FreeTcp();
        await _etcd.PutAsync($"{_prefix}/db/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/db/hosts/1", echo.Address);
        await _etcd.PutAsync($"{_prefix}/db/host_port", tcpPort.ToString(CultureInfo.InvariantCulture));
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", web.Address);

        var httpPort = Ports.FreeTcp();
        var adminPort = Ports.FreeTcp();
        string[] command = RouterProcess.Executable.EndsWith(".dll", StringComparison.Ordinal)
            ? ["dotnet", "exec", RouterProcess.Executable]
            : [RouterProcess.Executable];
        await using var router = TestProcess.Start("prlimit", [
            $"--nofile={OpenFiles}:{OpenFiles}", .. command,
            "--etcd", _etcd.Url, "--prefix", _prefix, "--http", $"127.0.0.1:{httpPort}", "--admin", $"127.0.0.1:{adminPort}",
            "--tcp-bind", "127.0.0.1", "--dns", "off",
        ], name: "router");
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(10) };
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        await Wait.UntilAsync(async () => !router.HasExited && (await admin.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, "the router to be ready", TimeSpan.FromSeconds(30));
        await router.WaitForOutputAsync("lowered to {Effective}");
        Assert.Contains($"\"Effective\":{RelayBudget}", router.Output, StringComparison.Ordinal);
        await WaitRelayedAsync(tcpPort);

        var clients = new List<Socket>();
        try
        {
            foreach (var batch in Enumerable.Range(0, Flood).Chunk(50))
            {
                clients.AddRange(await Task.WhenAll(batch.Select(_ => ConnectAsync(tcpPort))));
            }

            // Every connection was either admitted or refused at accept (the probes add a few admitted ones).
            await Wait.UntilAsync(async () =>
            {
                var metrics = await admin.GetStringAsync("/metrics");
                return MetricsText.Value(metrics, "router_tcp_connections_total{service=\"db\"}")
                    + MetricsText.Value(metrics, "router_tcp_connections_refused_total{service=\"db\"}") >= Flood;
            }, "every flood connection to be admitted or refused");
            // The budget is full, give or take the slots of probe relays that were still closing when flood
            // connections were refused; never more than the budget.
            await Wait.UntilAsync(async () => OpenRelays(await admin.GetStringAsync("/metrics")) >= RelayBudget - ProbeSlack, $"{RelayBudget} relays to be open");

            // Port 80 and the admin port still serve while the relays hold all they may.
            for (var i = 0; i < 20; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/");
                request.Headers.Host = "web";
                using var response = await http.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/healthz")).StatusCode);
            var final = await admin.GetStringAsync("/metrics");
            Assert.InRange(OpenRelays(final), RelayBudget - ProbeSlack, RelayBudget);
            Assert.True(MetricsText.Value(final, "router_tcp_connections_refused_total{service=\"db\"}") >= Flood - RelayBudget);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        // Relays end with their clients, and new ones are admitted again.
        await Wait.UntilAsync(async () => OpenRelays(await admin.GetStringAsync("/metrics")) == 0, "the relays to close");
        await WaitRelayedAsync(tcpPort);
        Assert.False(router.HasExited, router.Output);
        var lines = router.Lines.ToList();
        Assert.True(lines.Count(l => l.Contains("accept failed", StringComparison.Ordinal)) <= 5, router.Output);
        Assert.InRange(lines.Count(l => l.Contains("connection limit reached", StringComparison.Ordinal)), 1, 5);
    }

    private static int OpenRelays(string metrics) =>
        (int)MetricsText.Value(metrics, "router_host_port_connections{port=\"" + PortOf(metrics) + "\",service=\"db\",kind=\"tcp\",state=\"listening\"}");

    private static string PortOf(string metrics)
    {
        const string Marker = "router_host_port_connections{port=\"";
        var at = metrics.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length;
        return metrics[at..metrics.IndexOf('"', at)];
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return socket;
    }

    private static Task WaitRelayedAsync(int port) =>
        Wait.UntilAsync(async () =>
        {
            using var client = await TcpTestClient.ConnectAsync(port);
            return await client.ReadLineAsync() == "db-1";
        }, $"port {port} to relay");
}
