using System.Net;
using System.Net.Sockets;
using DnsClient;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Dns.Tests.Support;
using Router.Registry.Model;
using Router.Testing;

namespace Router.Dns.Tests;

/// <summary>The responder's report for /status and /metrics, read after real queries.</summary>
public class DnsReportTests
{
    [Fact]
    public async Task Report_AfterLocalRelayedCachedAndRefusedAnswers_CountsEachBySourceTypeAndCode()
    {
        await using var upstream = new ScriptedUpstream();
        await using var dns = await ResponderHarness.StartAsync(new DnsOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Upstreams = [upstream.EndPoint],
            UpstreamTimeout = TimeSpan.FromSeconds(2),
            InternalNetworks = [IPNetwork.Parse("127.0.0.1/32")],
        });
        var client = dns.Client();

        await client.QueryAsync("web.local", QueryType.A);
        await client.QueryAsync("web.local", QueryType.AAAA);
        await client.QueryAsync("relayed.example.test", QueryType.A);
        await client.QueryAsync("relayed.example.test", QueryType.A);
        using var outsider = new UdpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        var refused = await RawDns.UdpAsync(dns.EndPoint, RawDns.Query("x.example.test", 16), client: outsider);
        var report = dns.Responder.Report();

        Assert.NotNull(refused);
        Assert.True(report.Bound);
        Assert.Null(report.BindError);
        Assert.Equal(dns.EndPoint.ToString(), report.Listen);
        Assert.Equal(1, report.CacheEntries);
        Assert.Equal(1, report.CacheHits);
        Assert.Equal(1, report.CacheMisses);
        Assert.Contains(new DnsAnswerCount("A", "local", "NOERROR", 1), report.Answers);
        Assert.Contains(new DnsAnswerCount("AAAA", "local", "NOERROR", 1), report.Answers);
        Assert.Contains(new DnsAnswerCount("A", "upstream", "NOERROR", 1), report.Answers);
        Assert.Contains(new DnsAnswerCount("A", "cache", "NOERROR", 1), report.Answers);
        Assert.Contains(new DnsAnswerCount("TXT", "responder", "REFUSED", 1), report.Answers);
        Assert.Equal(5, report.Answers.Sum(a => a.Count));
        var up = Assert.Single(report.Upstreams);
        Assert.Equal(upstream.EndPoint.ToString(), up.Address);
        Assert.Equal("up", up.Health);
        Assert.True(up.Preferred);
        Assert.Equal(1, up.Answers);
        Assert.Equal(1, up.LatencyBuckets[^1]);
        Assert.NotNull(up.LastAnswer);
    }

    [Fact]
    public async Task Report_SilentUpstream_FailingWithTimeoutsAndServFailCounted()
    {
        var dead = new IPEndPoint(IPAddress.Loopback, Ports.FreeTcpAndUdp());
        await using var upstream = new ScriptedUpstream();
        await using var dns = await ResponderHarness.StartAsync(dead, upstream.EndPoint);

        var answer = await dns.Client().QueryAsync("failover.example.test", QueryType.A);
        var report = dns.Responder.Report();

        Assert.Single(answer.Answers.ARecords());
        var silent = report.Upstreams[0];
        Assert.Equal(dead.ToString(), silent.Address);
        Assert.Equal("failing", silent.Health);
        Assert.False(silent.Preferred);
        Assert.Equal(1, silent.ConsecutiveFailures);
        Assert.Equal(1, silent.Timeouts + silent.Errors);
        Assert.Equal(0, silent.Answers);
        Assert.NotNull(silent.LastFailure);
        Assert.Equal("up", report.Upstreams[1].Health);
        Assert.True(report.Upstreams[1].Preferred);
    }

    [Fact]
    public async Task Report_NoUpstreamAnswers_ServFailFromTheResponder()
    {
        var dead = new IPEndPoint(IPAddress.Loopback, Ports.FreeTcpAndUdp());
        await using var dns = await ResponderHarness.StartAsync(dead);

        await dns.Client().QueryAsync("nobody.example.test", QueryType.MX);

        Assert.Contains(new DnsAnswerCount("MX", "responder", "SERVFAIL", 1), dns.Responder.Report().Answers);
    }

    [Fact]
    public async Task Report_AddressTaken_NotBoundWithTheReasonThenBoundOnceFree()
    {
        // Below the ephemeral range: once the blocker lets go, the responder needs the port for TCP as well, and
        // an ephemeral one can meanwhile be the local port of any process's outgoing connection.
        var port = Ports.FreeTcpAndUdp();
        var blocker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        blocker.Bind(new IPEndPoint(IPAddress.Loopback, port));
        await using var responder = new DnsResponder(
            new DnsOptions { Listen = new IPEndPoint(IPAddress.Loopback, port), Upstreams = [new IPEndPoint(IPAddress.Loopback, 9)] },
            () => RegistrySnapshot.Empty,
            TimeProvider.System,
            NullLogger<DnsResponder>.Instance);

        await responder.StartAsync(CancellationToken.None);
        var blocked = responder.Report();
        blocker.Dispose();
        await Wait.UntilAsync(() => responder.Report().Bound, "the responder to bind once the port is free");
        var bound = responder.Report();

        Assert.False(blocked.Bound);
        Assert.Equal(nameof(SocketError.AddressAlreadyInUse), blocked.BindError);
        Assert.Equal("unknown", Assert.Single(blocked.Upstreams).Health);
        Assert.Null(bound.BindError);
        Assert.Equal($"127.0.0.1:{port}", bound.Listen);
    }

    [Fact]
    public async Task Report_UpstreamIsTheResponder_ListedAsIgnored()
    {
        var port = Ports.FreeTcpAndUdp();
        var self = new IPEndPoint(IPAddress.Loopback, port);
        await using var dns = await ResponderHarness.StartAsync(new DnsOptions { Listen = self, Upstreams = [self] });

        var report = dns.Responder.Report();

        Assert.Equal([self.ToString()], report.IgnoredUpstreams);
        Assert.Empty(report.Upstreams);
    }
}
