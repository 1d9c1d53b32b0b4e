using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;
using Router.Dns.Tests.Support;
using Router.Registry.Model;
using Router.Testing;

namespace Router.Dns.Tests;

/// <summary>The real responder on 127.0.0.1, a real dnsmasq as its upstream, DnsClient and dig as checkers.</summary>
public class DnsResponderTests
{
    private const string Example = "--address=/example.test/10.1.2.3";
    private const string LongTtl = "--local-ttl=300";

    [Fact]
    public async Task A_NameUnderZoneAnyCaseAnyDepth_ReturnsListenAddress()
    {
        await using var dns = await ResponderHarness.StartAsync();
        var client = dns.Client();

        foreach (var name in new[] { "web.local", "WEB.Local", "a.b.c.d.web.local", "local", "_x.local" })
        {
            var response = await client.QueryAsync(name, QueryType.A);

            Assert.Equal(DnsHeaderResponseCode.NoError, response.Header.ResponseCode);
            var record = Assert.Single(response.Answers.ARecords());
            Assert.Equal(IPAddress.Loopback, record.Address);
            Assert.Equal(5, record.InitialTimeToLive);
            Assert.True(response.Header.HasAuthorityAnswer);
        }
    }

    [Fact]
    public async Task A_AnswerAndZoneOptions_ReturnsConfiguredAddressUnderConfiguredZone()
    {
        await using var dns = await ResponderHarness.StartAsync(new DnsOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Zone = "Cluster",
            Answer = IPAddress.Parse("127.0.0.53"),
            LocalTtl = 7,
        });

        var output = await Dig.RunAsync(dns.EndPoint, "web.cluster", "A");

        Assert.Contains("status: NOERROR", output);
        Assert.Matches(@"web\.cluster\.\s+7\s+IN\s+A\s+127\.0\.0\.53", output);
        var local = await dns.Client().QueryAsync("web.local", QueryType.A);
        Assert.Equal(DnsHeaderResponseCode.ServerFailure, local.Header.ResponseCode);
    }

    [Fact]
    public async Task Aaaa_NameUnderZone_NoErrorNoAnswerSoaInAuthority()
    {
        await using var dns = await ResponderHarness.StartAsync();

        var response = await dns.Client().QueryAsync("Web.Local", QueryType.AAAA);

        Assert.Equal(DnsHeaderResponseCode.NoError, response.Header.ResponseCode);
        Assert.Empty(response.Answers);
        var soa = Assert.Single(response.Authorities.SoaRecords());
        Assert.Equal("Local.", soa.DomainName.Value, ignoreCase: true);
        Assert.Equal("ns.local.", soa.MName.Value, ignoreCase: true);
        Assert.Equal(5u, soa.Minimum);

        var output = await Dig.RunAsync(dns.EndPoint, "deep.name.local", "AAAA");
        Assert.Contains("status: NOERROR", output);
        Assert.Contains("ANSWER: 0, AUTHORITY: 1", output);
    }

    [Fact]
    public async Task OtherType_NameUnderZone_NoDataWithSoa()
    {
        await using var dns = await ResponderHarness.StartAsync();

        var response = await dns.Client().QueryAsync("web.local", QueryType.TXT);

        Assert.Equal(DnsHeaderResponseCode.NoError, response.Header.ResponseCode);
        Assert.Empty(response.Answers);
        Assert.Single(response.Authorities.SoaRecords());
    }

    [Fact]
    public async Task Srv_ServiceOwningHostPort_ReturnsTargetAtThatPort()
    {
        await using var dns = await ResponderHarness.StartAsync();
        dns.Snapshot = SnapshotWithHostPorts();

        var response = await dns.Client().QueryAsync("_DB._tcp.local", QueryType.SRV);

        Assert.Equal(DnsHeaderResponseCode.NoError, response.Header.ResponseCode);
        var srv = Assert.Single(response.Answers.SrvRecords());
        Assert.Equal(5432, srv.Port);
        Assert.Equal("db.local.", srv.Target.Value);
        var glue = Assert.Single(response.Additionals.ARecords());
        Assert.Equal(IPAddress.Loopback, glue.Address);

        var output = await Dig.RunAsync(dns.EndPoint, "_db._tcp.local", "SRV", "+short");
        Assert.Contains("0 0 5432 db.local.", output);
    }

    [Theory]
    [InlineData("_web._tcp.local")]
    [InlineData("_none._tcp.local")]
    [InlineData("_db._udp.local")]
    [InlineData("_db._tcp.x.local")]
    public async Task Srv_NoOwnedHostPort_NoDataWithSoa(string name)
    {
        await using var dns = await ResponderHarness.StartAsync();
        dns.Snapshot = SnapshotWithHostPorts();

        var response = await dns.Client().QueryAsync(name, QueryType.SRV);

        Assert.Equal(DnsHeaderResponseCode.NoError, response.Header.ResponseCode);
        Assert.Empty(response.Answers);
        Assert.Single(response.Authorities.SoaRecords());
    }

    [Fact]
    public async Task SoaAndNs_ZoneApex_Answered()
    {
        await using var dns = await ResponderHarness.StartAsync();
        dns.Snapshot = SnapshotWithHostPorts();
        var client = dns.Client();

        var soa = Assert.Single((await client.QueryAsync("local", QueryType.SOA)).Answers.SoaRecords());
        var ns = await client.QueryAsync("local", QueryType.NS);

        Assert.Equal(42u, soa.Serial);
        Assert.Equal("hostmaster.local.", soa.RName.Value);
        Assert.Equal("ns.local.", Assert.Single(ns.Answers.NsRecords()).NSDName.Value);
        Assert.Equal(IPAddress.Loopback, Assert.Single(ns.Additionals.ARecords()).Address);
    }

    [Fact]
    public async Task Relay_NameOutsideZone_ReturnsUpstreamAnswerOverUdpAndTcp()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(Example, LongTtl);
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);

        var udp = await dns.Client().QueryAsync("www.Example.test", QueryType.A);
        var tcp = await dns.Client(tcpOnly: true).QueryAsync("other.example.test", QueryType.A);

        Assert.Equal(IPAddress.Parse("10.1.2.3"), Assert.Single(udp.Answers.ARecords()).Address);
        Assert.Equal("www.Example.test.", udp.Questions[0].QueryName.Value);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), Assert.Single(tcp.Answers.ARecords()).Address);
    }

    [Fact]
    public async Task Relay_ClientFlagsAndEdns_KeptBothWays()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(Example, LongTtl);
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);

        var dnssec = await Dig.RunAsync(dns.EndPoint, "+dnssec", "+cdflag", "a.example.test", "A");
        var noRecursion = await Dig.RunAsync(dns.EndPoint, "+norec", "b.example.test", "A");
        var noEdns = await Dig.RunAsync(dns.EndPoint, "+noedns", "c.example.test", "A");

        Assert.Matches(@"flags: qr[^;]* rd[^;]* cd;", dnssec);
        Assert.Contains("EDNS: version: 0, flags: do;", dnssec);
        Assert.Contains("10.1.2.3", dnssec);
        Assert.Matches(@"flags: qr aa ra;", noRecursion);
        Assert.DoesNotContain("OPT PSEUDOSECTION", noEdns);
        Assert.Contains("10.1.2.3", noEdns);
    }

    [Fact]
    public async Task Cache_UpstreamStopped_ServesCachedAnswerUntilTtlThenServFail()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(Example, LongTtl);
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);
        var client = dns.Client();

        // The answer must be in the cache before the upstream goes: on a loaded machine the first relay can
        // miss the harness's 500 ms upstream timeout (a SERVFAIL, which is not cached).
        await Wait.UntilAsync(async () => (await client.QueryAsync("cached.example.test", QueryType.A)).Answers.ARecords().Any(), "the answer to be relayed and cached");

        await upstream.StopAsync();
        dns.Time.Advance(TimeSpan.FromSeconds(100));
        var cached = await client.QueryAsync("CACHED.example.test", QueryType.A);
        dns.Time.Advance(TimeSpan.FromSeconds(201));
        var expired = await client.QueryAsync("cached.example.test", QueryType.A);

        var record = Assert.Single(cached.Answers.ARecords());
        Assert.Equal(IPAddress.Parse("10.1.2.3"), record.Address);
        Assert.Equal(200, record.InitialTimeToLive);
        Assert.Equal("CACHED.example.test.", cached.Questions[0].QueryName.Value);
        Assert.Equal(DnsHeaderResponseCode.ServerFailure, expired.Header.ResponseCode);
    }

    [Fact]
    public async Task Cache_Expired_AsksUpstreamAgain()
    {
        await using var upstream = await DnsmasqProcess.StartAsync("--address=/first.test/10.0.0.1", LongTtl);
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);
        var client = dns.Client();
        var before = await client.QueryAsync("first.test", QueryType.A);

        // Same port, new answer: only a fresh upstream query can see it.
        await upstream.StopAsync();
        await using var changed = await DnsmasqProcess.StartAsync(upstream.Port, "--address=/first.test/10.0.0.2", LongTtl);
        var cached = await client.QueryAsync("first.test", QueryType.A);
        dns.Time.Advance(TimeSpan.FromSeconds(301));
        var after = await client.QueryAsync("first.test", QueryType.A);

        Assert.Equal(IPAddress.Parse("10.0.0.1"), Assert.Single(before.Answers.ARecords()).Address);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), Assert.Single(cached.Answers.ARecords()).Address);
        Assert.Equal(IPAddress.Parse("10.0.0.2"), Assert.Single(after.Answers.ARecords()).Address);
        Assert.Equal(300, Assert.Single(after.Answers.ARecords()).InitialTimeToLive);
    }

    [Fact]
    public async Task NegativeCache_NxDomainWithSoa_CachedForSoaMinimum()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(
            "--auth-server=ns.neg.test,lo", "--auth-zone=neg.test", "--auth-ttl=120", "--host-record=yes.neg.test,10.7.7.7");
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);
        var client = dns.Client();
        var first = await client.QueryAsync("missing.neg.test", QueryType.A);

        await upstream.StopAsync();
        dns.Time.Advance(TimeSpan.FromSeconds(119));
        var cached = await client.QueryAsync("missing.neg.test", QueryType.A);
        dns.Time.Advance(TimeSpan.FromSeconds(2));
        var expired = await client.QueryAsync("missing.neg.test", QueryType.A);

        Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, first.Header.ResponseCode);
        Assert.Single(first.Authorities.SoaRecords());
        Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, cached.Header.ResponseCode);
        Assert.Equal(DnsHeaderResponseCode.ServerFailure, expired.Header.ResponseCode);
    }

    [Fact]
    public async Task Failover_FirstUpstreamSilent_SecondAnswers()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(Example, LongTtl);
        var dead = new IPEndPoint(IPAddress.Loopback, Ports.FreeTcpAndUdp());
        await using var dns = await ResponderHarness.StartAsync(dead, upstream.EndPoint);

        var first = await dns.Client().QueryAsync("one.example.test", QueryType.A);
        var second = await dns.Client().QueryAsync("two.example.test", QueryType.A);

        Assert.Equal(IPAddress.Parse("10.1.2.3"), Assert.Single(first.Answers.ARecords()).Address);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), Assert.Single(second.Answers.ARecords()).Address);
    }

    [Fact]
    public async Task ServFail_NoUpstreamAnswers()
    {
        var dead = new IPEndPoint(IPAddress.Loopback, Ports.FreeTcpAndUdp());
        await using var dns = await ResponderHarness.StartAsync(dead);

        var response = await dns.Client().QueryAsync("nobody.example.test", QueryType.A);
        var raw = await RawDns.UdpAsync(dns.EndPoint, RawDns.Query("nobody.example.test", 1, id: 0x0707));

        Assert.Equal(DnsHeaderResponseCode.ServerFailure, response.Header.ResponseCode);
        Assert.NotNull(raw);
        Assert.Equal(0x0707, RawDns.Id(raw));
        Assert.Equal(2, RawDns.ResponseCode(raw));
        Assert.Equal(1, RawDns.QuestionCount(raw));
    }

    [Fact]
    public async Task Truncation_AnswerOverClientUdpLimit_TcSetOverUdpAndFullOverTcp()
    {
        var records = Enumerable.Range(1, 60).Select(i => $"--host-record=big.test,10.9.0.{i}");
        await using var upstream = await DnsmasqProcess.StartAsync([LongTtl, .. records]);
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);

        var udp = await RawDns.UdpAsync(dns.EndPoint, RawDns.Query("big.test", 1));
        var tcp = await RawDns.TcpAsync(dns.EndPoint, RawDns.Query("big.test", 1));
        var dig = await Dig.RunAsync(dns.EndPoint, "+noedns", "big.test", "A");
        var client = await dns.Client(tcpOnly: true).QueryAsync("big.test", QueryType.A);

        Assert.NotNull(udp);
        Assert.True(RawDns.Truncated(udp));
        Assert.Equal(0, RawDns.AnswerCount(udp));
        Assert.Equal(1, RawDns.QuestionCount(udp));
        Assert.False(RawDns.Truncated(tcp));
        Assert.Equal(60, RawDns.AnswerCount(tcp));
        Assert.Contains("Truncated, retrying in TCP mode", dig);
        Assert.Contains("ANSWER: 60", dig);
        Assert.Equal(60, client.Answers.ARecords().Count());
    }

    [Fact]
    public async Task Truncation_LargerEdnsSize_WholeAnswerOverUdp()
    {
        var records = Enumerable.Range(1, 60).Select(i => $"--host-record=big.test,10.9.0.{i}");
        await using var upstream = await DnsmasqProcess.StartAsync([LongTtl, .. records]);
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);

        var udp = await RawDns.UdpAsync(dns.EndPoint, RawDns.Query("big.test", 1, ednsSize: 4096));

        Assert.NotNull(udp);
        Assert.False(RawDns.Truncated(udp));
        Assert.Equal(60, RawDns.AnswerCount(udp));
    }

    [Fact]
    public async Task Refused_ClientOutsideInternalNetworks()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(Example, LongTtl);
        await using var dns = await ResponderHarness.StartAsync(new DnsOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Upstreams = [upstream.EndPoint],
            InternalNetworks = [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("fd00::/8")],
        });

        var local = await dns.Client().QueryAsync("web.local", QueryType.A);
        var relayed = await dns.Client().QueryAsync("www.example.test", QueryType.A);
        var overTcp = await dns.Client(tcpOnly: true).QueryAsync("web.local", QueryType.A);

        Assert.Equal(DnsHeaderResponseCode.Refused, local.Header.ResponseCode);
        Assert.Empty(local.Answers);
        Assert.Equal(DnsHeaderResponseCode.Refused, relayed.Header.ResponseCode);
        Assert.Equal(DnsHeaderResponseCode.Refused, overTcp.Header.ResponseCode);
    }

    [Fact]
    public async Task FormErr_HeaderWithBrokenQuestion_AnsweredWithItsId()
    {
        await using var dns = await ResponderHarness.StartAsync();
        var query = RawDns.Query("web.local", 1, id: 0x3131);

        var answer = await RawDns.UdpAsync(dns.EndPoint, query[..^3]);

        Assert.NotNull(answer);
        Assert.Equal(0x3131, RawDns.Id(answer));
        Assert.Equal(1, RawDns.ResponseCode(answer));
    }

    [Fact]
    public async Task BadVers_EdnsVersionOne_AnsweredWithBadVers()
    {
        await using var dns = await ResponderHarness.StartAsync();
        var query = RawDns.Query("web.local", 1, ednsSize: 1232);
        query[^5] = 1;

        var answer = await RawDns.UdpAsync(dns.EndPoint, query);

        Assert.NotNull(answer);
        Assert.Equal(0, RawDns.ResponseCode(answer));
        Assert.Equal(0, RawDns.AnswerCount(answer));

        // RFC 6891 §6.1.3: BADVERS (16) keeps its upper bits in the OPT's extended RCODE.
        Assert.Equal(1, answer[^6]);
    }

    [Fact]
    public async Task Drop_NoHeaderOrAResponse_NothingSentBack()
    {
        await using var dns = await ResponderHarness.StartAsync();
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var response = RawDns.Query("web.local", 1, id: 0x0101, flags: 0x8100);

        await client.SendAsync(new byte[] { 1, 2, 3, 4, 5 }, dns.EndPoint);
        await client.SendAsync(response, dns.EndPoint);
        await client.SendAsync(RawDns.Query("web.local", 1, id: 0x0202), dns.EndPoint);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var first = await client.ReceiveAsync(timeout.Token);

        Assert.Equal(0x0202, RawDns.Id(first.Buffer));
        Assert.Equal(1, RawDns.AnswerCount(first.Buffer));
    }

    /// <summary>
    /// Many clients at once, queries not waited for: the responder reads and answers them in batches
    /// (recvmmsg/sendmmsg), and every answer must still go to the client that asked, with its own id and question,
    /// whether it was answered in the batch (local names) or later from upstream (relayed ones).
    /// </summary>
    [Fact]
    public async Task Burst_ManyClientsAtOnce_EachGetsItsOwnAnswers()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(Example, LongTtl);
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);
        const int Clients = 16;
        const int PerClient = 60;
        var clients = Enumerable.Range(0, Clients).Select(_ => new UdpClient(new IPEndPoint(IPAddress.Loopback, 0))).ToArray();
        try
        {
            var sent = new Dictionary<ushort, byte[]>[Clients];
            for (var c = 0; c < Clients; c++)
            {
                sent[c] = [];
                for (var q = 0; q < PerClient; q++)
                {
                    var id = (ushort)((c << 8) | q);
                    var name = q % 4 == 3 ? $"c{c}-q{q}.example.test" : $"c{c}-q{q}.local";
                    sent[c][id] = RawDns.Query(name, 1, id: id);
                }
            }

            // Waves of 4 queries per client, interleaved, with junk that gets no answer in between: batches hold several
            // clients' queries, and no more than a wave is in flight, so no socket buffer overflows on a loaded machine.
            const int Wave = 4;
            var seen = Enumerable.Range(0, Clients).Select(_ => new HashSet<ushort>()).ToArray();
            for (var first = 0; first < PerClient; first += Wave)
            {
                for (var q = first; q < first + Wave; q++)
                {
                    for (var c = 0; c < Clients; c++)
                    {
                        await clients[c].SendAsync(sent[c][(ushort)((c << 8) | q)], dns.EndPoint);
                        if (q % 10 == 0)
                        {
                            await clients[c].SendAsync(new byte[] { 1, 2, 3 }, dns.EndPoint);
                        }
                    }
                }

                for (var c = 0; c < Clients; c++)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                    while (seen[c].Count < first + Wave)
                    {
                        var answer = (await clients[c].ReceiveAsync(timeout.Token)).Buffer;
                        var id = RawDns.Id(answer);
                        Assert.True(sent[c].TryGetValue(id, out var query), $"client {c} got an answer with id {id:x4}, not one of its queries");
                        Assert.True((id & 0xFF) < first + Wave, $"client {c} got an answer to {id:x4}, which it has not asked yet");
                        Assert.True(seen[c].Add(id), $"client {c} got two answers to query {id:x4}");
                        Assert.Equal(0, RawDns.ResponseCode(answer));
                        Assert.Equal(1, RawDns.AnswerCount(answer));
                        Assert.True(answer.AsSpan(12, query.Length - 12).SequenceEqual(query.AsSpan(12)), $"client {c}, query {id:x4}: another question came back");
                    }
                }
            }

            Assert.All(seen, s => Assert.Equal(PerClient, s.Count));
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
    public async Task Fuzz_RandomAndMutatedPackets_ResponderStillAnswersCorrectly()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(Example, LongTtl);
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);
        var random = new Random(20261);
        byte[][] seeds =
        [
            RawDns.Query("web.local", 1),
            RawDns.Query("_db._tcp.local", 33, ednsSize: 1232),
            RawDns.Query("www.example.test", 1, ednsSize: 4096, dnssecOk: true),
            RawDns.Query("local", 6),
        ];
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);

        for (var i = 0; i < 4000 && DateTime.UtcNow < deadline; i++)
        {
            var packet = i % 2 == 0 ? RandomPacket(random) : Mutate(seeds[random.Next(seeds.Length)], random);
            await udp.SendAsync(packet, dns.EndPoint);
            if (i % 40 == 0)
            {
                await SendRawTcpAsync(dns.EndPoint, packet);
            }
        }

        var local = await dns.Client().QueryAsync("after.fuzz.local", QueryType.A);
        var relayed = await dns.Client().QueryAsync("after.example.test", QueryType.A);
        var overTcp = await dns.Client(tcpOnly: true).QueryAsync("after.local", QueryType.AAAA);

        Assert.Equal(IPAddress.Loopback, Assert.Single(local.Answers.ARecords()).Address);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), Assert.Single(relayed.Answers.ARecords()).Address);
        Assert.Equal(DnsHeaderResponseCode.NoError, overTcp.Header.ResponseCode);
        Assert.Single(overTcp.Authorities.SoaRecords());
    }

    [Fact]
    public async Task Upstreams_ListenEndpointListed_IsNeverUsed()
    {
        await using var upstream = await DnsmasqProcess.StartAsync(Example, LongTtl);
        var port = Ports.FreeTcpAndUdp();
        var self = new IPEndPoint(IPAddress.Loopback, port);
        await using var dns = await ResponderHarness.StartAsync(new DnsOptions
        {
            Listen = self,
            Upstreams = [self, upstream.EndPoint],
        });

        var relayed = await dns.Client().QueryAsync("loop.example.test", QueryType.A);

        Assert.Equal([upstream.EndPoint], dns.Responder.Upstreams);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), Assert.Single(relayed.Answers.ARecords()).Address);
    }

    [Fact]
    public async Task Start_AddressNotOnThisHost_DoesNotThrowAndStops()
    {
        // TEST-NET-1 is on no interface: bound with IP_FREEBIND, or retried in the background. Nothing is sent.
        var responder = new DnsResponder(
            new DnsOptions { Listen = new IPEndPoint(IPAddress.Parse("192.0.2.1"), Ports.FreeTcpAndUdp()) },
            () => RegistrySnapshot.Empty,
            TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<DnsResponder>.Instance);

        await responder.StartAsync(CancellationToken.None);
        await responder.StopAsync(CancellationToken.None);
        await responder.DisposeAsync();
    }

    private static RegistrySnapshot SnapshotWithHostPorts() => new()
    {
        Revision = 42,
        Services = ImmutableDictionary<string, ServiceEntry>.Empty
            .Add("db", new ServiceEntry { Name = "db", Scheme = ServiceScheme.Tcp, HostPort = 5432 })
            .Add("web", new ServiceEntry { Name = "web", Scheme = ServiceScheme.Http, HostPort = 8080 })
            .Add("other", new ServiceEntry { Name = "other", Scheme = ServiceScheme.Http, HostPort = 8080 }),
        HostPorts = ImmutableSortedDictionary<int, string>.Empty.Add(5432, "db").Add(8080, "other"),
    };

    private static byte[] RandomPacket(Random random)
    {
        var packet = new byte[random.Next(0, 600)];
        random.NextBytes(packet);
        return packet;
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var packet = (byte[])seed.Clone();
        switch (random.Next(4))
        {
            case 0:
                for (var flips = random.Next(1, 5); flips > 0; flips--)
                {
                    packet[random.Next(packet.Length)] = (byte)random.Next(256);
                }

                return packet;
            case 1:
                return packet[..random.Next(packet.Length)];
            case 2:
                // Counts are where parsers usually trust the sender too much.
                packet[random.Next(4, 12)] = (byte)random.Next(256);
                return packet;
            default:
                var extra = new byte[random.Next(1, 64)];
                random.NextBytes(extra);
                return [.. packet, .. extra];
        }
    }

    private static async Task SendRawTcpAsync(IPEndPoint server, byte[] packet)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server);
        var framed = new byte[packet.Length + 2];
        framed[0] = (byte)(packet.Length >> 8);
        framed[1] = (byte)packet.Length;
        packet.CopyTo(framed, 2);
        await client.GetStream().WriteAsync(framed);
    }
}
