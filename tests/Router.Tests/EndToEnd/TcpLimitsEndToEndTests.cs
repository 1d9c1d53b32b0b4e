using System.Globalization;
using System.Net;
using Router.Testing;

namespace Router.Tests;

/// <summary>TCP relays with non-default limits and access rules: each test starts its own router.</summary>
public sealed class TcpLimitsEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task PrivateTcpService_OutsiderConnectionClosed_PublicOneServed()
    {
        await using var echo = TcpEchoServer.Start("db-1");
        var privatePort = await RegisterAsync("secret", echo, isPrivate: true);
        var publicPort = await RegisterAsync("open", echo, isPrivate: false);

        // Loopback is not internal for this router, so the test is an outside client.
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--internal-networks", "10.0.0.0/8"]);
        await WaitServedAsync(publicPort, "db-1");

        // The two listeners open in no set order: the private one may not listen yet when the public one serves.
        TcpTestClient? outsider = null;
        await Wait.UntilAsync(async () =>
        {
            outsider = await TcpTestClient.ConnectAsync(privatePort);
            return true;
        }, $"the private port {privatePort} to listen");
        using (outsider)
        {
            Assert.Empty(await outsider!.ReadToEndAsync());
        }

        var before = echo.Connections;
        using var again = await TcpTestClient.ConnectAsync(privatePort);
        Assert.Empty(await again.ReadToEndAsync());
        Assert.Equal(before, echo.Connections);
    }

    [Fact]
    public async Task PrivateHttpHostPort_Outsider404()
    {
        await using var web = await TestBackend.StartAsync("web-1");
        var port = Ports.FreeTcp();
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", web.Address);
        await _etcd.PutAsync($"{_prefix}/web/private", "yes");
        await _etcd.PutAsync($"{_prefix}/web/host_port", port.ToString(CultureInfo.InvariantCulture));
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--internal-networks", "10.0.0.0/8"]);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await Wait.UntilAsync(async () => (await http.GetAsync("/")).StatusCode == HttpStatusCode.NotFound, "the private host_port to answer 404");
        Assert.Equal(0, web.Requests);
    }

    [Fact]
    public async Task IdleConnection_ClosedAfterIdleTimeout()
    {
        await using var echo = TcpEchoServer.Start("db-1");
        var port = await RegisterAsync("db", echo, isPrivate: false);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--tcp-idle-timeout", "1"]);
        await WaitServedAsync(port, "db-1");

        using var client = await TcpTestClient.ConnectAsync(port);
        Assert.Equal("db-1", await client.ReadLineAsync());

        // Silent on both sides: the router closes it (ReadToEnd returns when it does).
        Assert.Empty(await client.ReadToEndAsync());
        Assert.Contains("idle connection closed", router.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionLimit_ExtraConnectionRefusedOthersKept()
    {
        await using var echo = TcpEchoServer.Start("db-1");
        var port = await RegisterAsync("db", echo, isPrivate: false);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--tcp-max-connections", "2"]);
        await WaitServedAsync(port, "db-1");
        await Wait.UntilAsync(async () => (await router.StatusAsync()).GetProperty("listeners")[0].GetProperty("connections").GetInt32() == 0, "the probe connection to close");

        using var first = await TcpTestClient.ConnectAsync(port);
        Assert.Equal("db-1", await first.ReadLineAsync());
        using var second = await TcpTestClient.ConnectAsync(port);
        Assert.Equal("db-1", await second.ReadLineAsync());

        using var third = await TcpTestClient.ConnectAsync(port);
        Assert.Empty(await third.ReadToEndAsync());
        Assert.Equal("still"u8.ToArray(), await first.RoundTripAsync("still"u8.ToArray()));
    }

    private async Task<int> RegisterAsync(string service, TcpEchoServer echo, bool isPrivate)
    {
        var port = Ports.FreeTcp();
        await _etcd.PutAsync($"{_prefix}/{service}/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/{service}/hosts/1", echo.Address);
        await _etcd.PutAsync($"{_prefix}/{service}/host_port", port.ToString(CultureInfo.InvariantCulture));
        if (isPrivate)
        {
            await _etcd.PutAsync($"{_prefix}/{service}/private", "");
        }

        return port;
    }

    private static Task WaitServedAsync(int port, string backend) =>
        Wait.UntilAsync(async () =>
        {
            using var client = await TcpTestClient.ConnectAsync(port);
            return await client.ReadLineAsync() == backend;
        }, $"port {port} to relay to {backend}");
}
