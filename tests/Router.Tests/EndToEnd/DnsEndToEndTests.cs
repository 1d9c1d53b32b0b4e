using System.Globalization;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Router.Testing;

namespace Router.Tests;

/// <summary>The DNS responder as the router process hosts it, fed by the router's registry.</summary>
public sealed class DnsEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task RouterDns_LocalNamesSrvAndRelay()
    {
        await using var upstream = await DnsmasqProcess.StartAsync("--address=/example.test/10.9.8.7");
        var dnsPort = Ports.FreeTcpAndUdp();
        var hostPort = Ports.FreeTcp();
        await _etcd.PutAsync($"{_prefix}/db/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/db/host_port", hostPort.ToString(CultureInfo.InvariantCulture));
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix,
        [
            "--dns", $"127.0.0.1:{dnsPort}", "--dns-upstream", $"127.0.0.1:{upstream.Port}", "--dns-answer", "127.0.0.9",
        ]);
        var client = new LookupClient(new LookupClientOptions(new NameServer(IPAddress.Loopback, dnsPort)) { UseCache = false, Timeout = TimeSpan.FromSeconds(5), Retries = 3 });

        var local = await client.QueryAsync("web.local", QueryType.A);
        Assert.Equal(IPAddress.Parse("127.0.0.9"), Assert.Single(local.Answers.ARecords()).Address);

        var relayed = await client.QueryAsync("host.example.test", QueryType.A);
        Assert.Equal(IPAddress.Parse("10.9.8.7"), Assert.Single(relayed.Answers.ARecords()).Address);

        await Wait.UntilAsync(async () =>
        {
            var srv = await client.QueryAsync("_db._tcp.local", QueryType.SRV);
            return srv.Answers.SrvRecords().Any(r => r.Port == hostPort && r.Target.Value.TrimEnd('.') == "db.local");
        }, "the SRV record of the host_port");
    }

    [Fact]
    public async Task WildcardDnsWithoutAnswer_Exit2NamingTheOption()
    {
        await using var process = TestProcess.Start(RouterProcess.Executable, ["--dns", "0.0.0.0:5353", "--http", "127.0.0.1:1"]);

        Assert.Equal(2, await process.WaitForExitAsync());
        Assert.Contains("router: --dns-answer:", process.Output, StringComparison.Ordinal);
    }
}
