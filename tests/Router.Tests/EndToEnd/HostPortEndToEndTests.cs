using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>host_port listeners of the real router: TCP relays and per-service HTTP ports.</summary>
public sealed class HostPortEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture, "--drain-timeout", "3")
{
    [Fact]
    public async Task Conflict_OlderHostPortKeyKeepsThePort()
    {
        var first = Own(TcpEchoServer.Start("first"));
        var second = Own(TcpEchoServer.Start("second"));
        var port = await RegisterTcpAsync("first", first);
        await RegisterTcpAsync("second", [second], port);

        await Wait.UntilAsync(async () => Problems(await Proxy.StatusAsync()).Any(p => p.Contains("already claimed by service 'first'", StringComparison.Ordinal)), "the conflict in /status");
        using var client = await TcpTestClient.ConnectAsync(port);
        Assert.Equal("first", await client.ReadLineAsync());

        // The older claim goes: the port passes to the other service.
        await Etcd.DeleteAsync($"{Prefix}/first/host_port");
        await Wait.UntilAsync(async () =>
        {
            using var next = await TcpTestClient.ConnectAsync(port);
            return await next.ReadLineAsync() == "second";
        }, "the port to pass to the second service");
    }

    [Fact]
    public async Task PortInUse_ProblemThenServedOnceFree()
    {
        var echo = Own(TcpEchoServer.Start("db-1"));
        var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
        try
        {
            await RegisterTcpAsync("db", [echo], port, waitListening: false);
            await Wait.UntilAsync(async () => Problems(await Proxy.StatusAsync()).Any(p => p.Contains($"cannot listen on 127.0.0.1:{port}", StringComparison.Ordinal)), "the bind problem in /status");
        }
        finally
        {
            blocker.Stop();
        }

        await WaitListeningAsync(port);
        using var client = await TcpTestClient.ConnectAsync(port);
        Assert.Equal("db-1", await client.ReadLineAsync());
    }

    [Fact]
    public async Task HostPortIsRoutersOwnPort_Problem()
    {
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/host_port", Proxy.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await Wait.UntilAsync(async () => Problems(await Proxy.StatusAsync()).Any(p => p.Contains("router's own port (--http)", StringComparison.Ordinal)), "the own-port problem");
    }

    [Fact]
    public async Task PortsAddedAndRemoved_OtherConnectionsUntouched()
    {
        var steady = Own(TcpEchoServer.Start("steady"));
        var churn = Own(TcpEchoServer.Start("churn"));
        var steadyPort = await RegisterTcpAsync("steady", steady);
        using var held = await ConnectedAsync(steadyPort, "steady");

        for (var round = 0; round < 5; round++)
        {
            var churnPort = await RegisterTcpAsync("churn", churn);
            using (var c = await ConnectedAsync(churnPort, "churn"))
            {
                Assert.Equal("ping"u8.ToArray(), await c.RoundTripAsync("ping"u8.ToArray()));
            }

            await Etcd.DeletePrefixAsync($"{Prefix}/churn/");
            await WaitNotListeningAsync(churnPort);
            var payload = Encoding.ASCII.GetBytes($"round {round}");
            Assert.Equal(payload, await held.RoundTripAsync(payload));
        }
    }

    [Fact]
    public async Task PortRemoved_StopsAcceptingAtOnceAndOpenConnectionDrains()
    {
        var echo = Own(TcpEchoServer.Start("db-1"));
        var port = await RegisterTcpAsync("db", echo);
        using var open = await ConnectedAsync(port, "db-1");

        await Etcd.DeleteAsync($"{Prefix}/db/host_port");
        await WaitNotListeningAsync(port);

        // Still inside the drain time (3 s): the open connection works.
        Assert.Equal("still here"u8.ToArray(), await open.RoundTripAsync("still here"u8.ToArray()));

        // After the drain time it is closed by the router.
        var rest = await open.ReadToEndAsync();
        Assert.Empty(rest);
    }

    [Fact]
    public async Task HostAdded_NewConnectionsUseItOpenOnesStay()
    {
        var a = Own(TcpEchoServer.Start("a"));
        var b = Own(TcpEchoServer.Start("b"));
        var port = await RegisterTcpAsync("db", a);
        using var onA = await ConnectedAsync(port, "a");

        await Etcd.DeleteAsync($"{Prefix}/db/hosts/1");
        await Etcd.PutAsync($"{Prefix}/db/hosts/2", b.Address);

        await Wait.UntilAsync(async () =>
        {
            using var next = await TcpTestClient.ConnectAsync(port);
            return await next.ReadLineAsync() == "b";
        }, "new connections to go to the new host");
        Assert.Equal("x"u8.ToArray(), await onA.RoundTripAsync("x"u8.ToArray()));
    }

    [Fact]
    public async Task HttpServiceHostPort_EveryRequestGoesToIt()
    {
        var web = Own(await TestBackend.StartAsync("web-1"));
        var port = Ports.FreeTcp();
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await Etcd.PutAsync($"{Prefix}/web/host_port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitListeningAsync(port);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/any/path?q=1");
        request.Headers.Host = "whatever.example.com";
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echo = BackendEcho.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("web-1", echo.Name);
        Assert.Equal("/any/path", echo.Path);
        Assert.Equal("whatever.example.com", echo.Host);

        // A fragment is refused here as on the shared port; sent encoded, it is part of the path.
        using var raw = await RawHttpClient.OpenAsync(port);
        var fragment = await raw.ExchangeAsync("GET /any#path HTTP/1.1\r\nHost: whatever.example.com\r\n\r\n");
        var encoded = await raw.ExchangeAsync("GET /any%23path HTTP/1.1\r\nHost: whatever.example.com\r\n\r\n");
        Assert.Equal(400, fragment.Status);
        Assert.Contains("fragment", fragment.BodyText, StringComparison.Ordinal);
        Assert.Equal(200, encoded.Status);
        Assert.Equal("/any#path", BackendEcho.Parse(encoded.BodyText).Path);
    }

    [Fact]
    public async Task Status_ListsListeners()
    {
        var echo = Own(TcpEchoServer.Start("db-1"));
        var port = await RegisterTcpAsync("db", echo);

        var listener = (await Proxy.StatusAsync()).GetProperty("listeners").EnumerateArray().Single(l => l.GetProperty("port").GetInt32() == port);
        Assert.Equal("db", listener.GetProperty("service").GetString());
        Assert.Equal("tcp", listener.GetProperty("kind").GetString());
        Assert.Equal("listening", listener.GetProperty("state").GetString());
    }

    private async Task<int> RegisterTcpAsync(string service, params TcpEchoServer[] hosts) => await RegisterTcpAsync(service, hosts, Ports.FreeTcp());

    private async Task<int> RegisterTcpAsync(string service, TcpEchoServer[] hosts, int port, bool waitListening = true)
    {
        await Etcd.PutAsync($"{Prefix}/{service}/scheme", "tcp");
        for (var i = 0; i < hosts.Length; i++)
        {
            await Etcd.PutAsync($"{Prefix}/{service}/hosts/{i + 1}", hosts[i].Address);
        }

        await Etcd.PutAsync($"{Prefix}/{service}/host_port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (waitListening)
        {
            await WaitHostsAsync(service, hosts.Length);
            await WaitListeningAsync(port);
        }

        return port;
    }

    private static IEnumerable<string> Problems(JsonElement status) =>
        status.GetProperty("problems").EnumerateArray().Select(p => p.GetProperty("message").GetString() ?? "");
}
