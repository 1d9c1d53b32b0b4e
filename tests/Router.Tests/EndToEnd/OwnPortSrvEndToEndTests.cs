using System.Globalization;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// A host_port the router refuses because it is one of its own ports is not advertised by the router's DNS:
/// the claim is left out of the registry snapshot the DNS responder reads.
/// </summary>
public sealed class OwnPortSrvEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task HostPortIsRoutersOwnPort_NoSrvRecordOtherServiceAdvertised()
    {
        await using var upstream = await DnsmasqProcess.StartAsync("--address=/example.test/10.9.8.7");
        var dnsPort = Ports.FreeTcpAndUdp();
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix,
        [
            "--dns", $"127.0.0.1:{dnsPort}", "--dns-upstream", $"127.0.0.1:{upstream.Port}", "--dns-answer", "127.0.0.9",
        ]);
        var client = new LookupClient(new LookupClientOptions(new NameServer(IPAddress.Loopback, dnsPort)) { UseCache = false, Timeout = TimeSpan.FromSeconds(5), Retries = 3 });

        var okPort = Ports.FreeTcp();
        await RegisterTcpAsync("ok", okPort);
        await RegisterTcpAsync("own", router.AdminPort);
        await Wait.UntilAsync(async () => (await router.StatusAsync()).GetProperty("problems").EnumerateArray()
            .Any(p => p.GetProperty("key").GetString() == $"{_prefix}/own/host_port" && p.GetProperty("message").GetString()!.Contains("router's own port (--admin)", StringComparison.Ordinal)),
            "the own-port problem in /status");
        await Wait.UntilAsync(async () => (await client.QueryAsync("_ok._tcp.local", QueryType.SRV)).Answers.SrvRecords().Any(r => r.Port == okPort), "the SRV record of the other service");

        var own = await client.QueryAsync("_own._tcp.local", QueryType.SRV);
        Assert.Empty(own.Answers.SrvRecords());
    }

    private async Task RegisterTcpAsync(string service, int hostPort)
    {
        await _etcd.PutAsync($"{_prefix}/{service}/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/{service}/hosts/1", "127.0.0.1:9");
        await _etcd.PutAsync($"{_prefix}/{service}/host_port", hostPort.ToString(CultureInfo.InvariantCulture));
    }
}
