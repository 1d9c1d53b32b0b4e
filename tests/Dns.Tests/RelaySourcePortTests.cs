using System.Net;
using DnsClient;
using Router.Dns.Forwarding;
using Router.Dns.Tests.Support;

namespace Router.Dns.Tests;

/// <summary>RFC 5452 §9.2: relayed queries leave from unpredictable source ports, not a few fixed ones.</summary>
public class RelaySourcePortTests
{
    [Fact]
    public async Task Relay_ThirtyQueries_LeaveFromManyDistinctPorts()
    {
        await using var upstream = new ScriptedUpstream();
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);
        var client = dns.Client();

        for (var i = 0; i < 30; i++)
        {
            // The harness gives the upstream 500 ms; on a loaded machine a relay can miss that and answer
            // SERVFAIL, so each name is asked until it is answered (every try leaves from a port of its own).
            var name = $"name{i}.ports.test";
            IDnsQueryResponse? answer = null;
            await Router.Testing.Wait.UntilAsync(async () =>
            {
                answer = await client.QueryAsync(name, QueryType.A);
                return answer.Answers.ARecords().Any();
            }, $"{name} to be relayed");
            Assert.Equal(IPAddress.Parse("10.5.5.5"), Assert.Single(answer!.Answers.ARecords()).Address);
        }

        var sources = upstream.Sources.ToArray();
        Assert.True(sources.Length >= 30, $"the upstream saw {sources.Length} queries");
        Assert.All(sources, s => Assert.Equal(IPAddress.Loopback, s.Address));
        var distinct = sources.Select(s => s.Port).Distinct().Count();
        Assert.True(distinct >= 15, $"30 queries left from only {distinct} distinct ports: {string.Join(',', sources.Select(s => s.Port))}");
    }

    [Theory]
    [InlineData("ok", true)]
    [InlineData("other-port", false)]
    [InlineData("other-address", false)]
    [InlineData("other-id", false)]
    [InlineData("not-a-response", false)]
    [InlineData("other-question", false)]
    [InlineData("question-in-other-case", true)]
    public void Matches_OnlyTheServerAskedWithTheIdAndQuestionGiven(string variant, bool expected)
    {
        var upstream = new IPEndPoint(IPAddress.Loopback, 5300);
        var query = RawDns.Query("www.example.test", 1, id: 0x1234);
        var answer = (byte[])query.Clone();
        answer[2] |= 0x80;
        var from = variant switch
        {
            "other-port" => new IPEndPoint(IPAddress.Loopback, 5301),
            "other-address" => new IPEndPoint(IPAddress.Parse("127.0.0.2"), 5300),
            _ => upstream,
        };
        switch (variant)
        {
            case "other-id":
                answer[1] ^= 1;
                break;
            case "not-a-response":
                answer[2] &= 0x7F;
                break;
            case "other-question":
                answer[13] = (byte)'x';
                break;
            case "question-in-other-case":
                answer[13] = (byte)'W';
                break;
        }

        var questionEnd = query.Length;
        Assert.Equal(expected, UdpUpstream.Matches(from.Serialize(), upstream.Serialize(), 0x1234, query.AsSpan(12, questionEnd - 12), answer));
    }
}
