using System.Buffers.Binary;
using Router.Dns.Tests.Support;
using Router.Dns.Wire;

namespace Router.Dns.Tests;

/// <summary>
/// A relayed or cached answer carries only what belongs to the asking client: never another client's COOKIE
/// (RFC 7873) or subnet (RFC 7871), while the server's own options (NSID) pass.
/// </summary>
public class RelayEdnsOptionsTests
{
    private static readonly byte[] FirstCookie = [1, 1, 1, 1, 1, 1, 1, 1];
    private static readonly byte[] SecondCookie = [2, 2, 2, 2, 2, 2, 2, 2];

    [Fact]
    public async Task Dig_TwoClientCookiesForOneCachedName_NoCookieMismatch()
    {
        await using var upstream = new ScriptedUpstream();
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);

        var first = await Dig.RunAsync(dns.EndPoint, "+cookie=0101010101010101", "cookie.example.test", "A");
        var second = await Dig.RunAsync(dns.EndPoint, "+cookie=0202020202020202", "cookie.example.test", "A");

        Assert.Contains("10.5.5.5", first);
        Assert.Contains("10.5.5.5", second);
        Assert.Single(upstream.Sources);
        Assert.DoesNotContain("mismatch", first, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("mismatch", second, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("0101010101010101", second, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("NSID", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_CookieAndSubnet_NeverRelayedToTheUpstreamOrAnotherClient()
    {
        await using var upstream = new ScriptedUpstream();
        await using var dns = await ResponderHarness.StartAsync(upstream.EndPoint);
        var firstSubnet = Subnet([10, 1, 2, 0], 24);
        var secondSubnet = Subnet([10, 9, 9, 0], 24);

        var fresh = await RawDns.UdpAsync(dns.EndPoint, QueryWithOptions(0x1111, (ScriptedUpstream.CookieOption, FirstCookie), (ScriptedUpstream.EcsOption, firstSubnet)));
        var cached = await RawDns.UdpAsync(dns.EndPoint, QueryWithOptions(0x2222, (ScriptedUpstream.CookieOption, SecondCookie), (ScriptedUpstream.EcsOption, secondSubnet)));
        var plain = await RawDns.UdpAsync(dns.EndPoint, QueryWithOptions(0x3333));

        Assert.NotNull(fresh);
        Assert.NotNull(cached);
        Assert.NotNull(plain);
        Assert.Single(upstream.Sources);
        Assert.Equal(1, RawDns.AnswerCount(cached));

        // The upstream gets the client's subnet but not its cookie: toward it the router is the client.
        var relayedOptions = ScriptedUpstream.Options(Assert.Single(upstream.Queries))!;
        Assert.DoesNotContain(relayedOptions, o => o.Code == ScriptedUpstream.CookieOption);
        Assert.Equal(firstSubnet, Assert.Single(relayedOptions, o => o.Code == ScriptedUpstream.EcsOption).Data);

        // The first client gets its own subnet echo back, and no cookie made for the router's address.
        var freshOptions = ScriptedUpstream.Options(fresh)!;
        Assert.DoesNotContain(freshOptions, o => o.Code == ScriptedUpstream.CookieOption);
        var echoed = Assert.Single(freshOptions, o => o.Code == ScriptedUpstream.EcsOption).Data;
        Assert.Equal(firstSubnet[..3], echoed[..3]);
        Assert.Equal(firstSubnet[4..], echoed[4..]);
        Assert.Contains(freshOptions, o => o.Code == ScriptedUpstream.NsidOption && o.Data.SequenceEqual(ScriptedUpstream.Nsid));

        // The cache hands the second and third clients nothing of the first's.
        foreach (var answer in new[] { cached, plain })
        {
            var options = ScriptedUpstream.Options(answer)!;
            Assert.DoesNotContain(options, o => o.Code is ScriptedUpstream.CookieOption or ScriptedUpstream.EcsOption);
            Assert.Contains(options, o => o.Code == ScriptedUpstream.NsidOption);
        }
    }

    [Fact]
    public void Strip_CookiePaddingKeepalive_Removed_OtherOptionsAndRecordsKeptByteForByte()
    {
        var message = QueryWithOptions(0x4444, (3, [9, 9]), (EdnsOptionFilter.Cookie, FirstCookie), (EdnsOptionFilter.Padding, new byte[5]), (EdnsOptionFilter.TcpKeepalive, []), (EdnsOptionFilter.ClientSubnet, Subnet([10, 0, 0, 0], 8)), (15, [0, 1]));

        var withSubnet = EdnsOptionFilter.Strip(message, withoutClientSubnet: false)!;
        var withoutSubnet = EdnsOptionFilter.Strip(message, withoutClientSubnet: true)!;

        Assert.Equal([(ushort)3, EdnsOptionFilter.ClientSubnet, (ushort)15], ScriptedUpstream.Options(withSubnet)!.Select(o => o.Code));
        Assert.Equal([(ushort)3, (ushort)15], ScriptedUpstream.Options(withoutSubnet)!.Select(o => o.Code));
        Assert.Equal([9, 9], ScriptedUpstream.Options(withoutSubnet)![0].Data);
        Assert.Equal(message.AsSpan(0, 12).ToArray(), withoutSubnet.AsSpan(0, 12).ToArray());
    }

    [Fact]
    public void Strip_NothingToTakeOutOrNoOpt_ReturnsNull()
    {
        Assert.Null(EdnsOptionFilter.Strip(QueryWithOptions(0x5555, (3, [1])), withoutClientSubnet: true));
        Assert.Null(EdnsOptionFilter.Strip(RawDns.Query("a.example.test", 1), withoutClientSubnet: true));
    }

    [Fact]
    public void Strip_OptionOverrunningItsRecord_LeftAsItCame()
    {
        var message = QueryWithOptions(0x6666, (EdnsOptionFilter.Cookie, FirstCookie));

        // The option now claims more bytes than the OPT's RDATA holds.
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(message.Length - FirstCookie.Length - 2), 200);

        Assert.Null(EdnsOptionFilter.Strip(message, withoutClientSubnet: true));
    }

    private static byte[] Subnet(byte[] address, byte prefix) => [0, 1, prefix, 0, .. address[..((prefix + 7) / 8)]];

    /// <summary>A query for cookie.example.test A with an OPT (size 1232) holding these options.</summary>
    private static byte[] QueryWithOptions(ushort id, params (ushort Code, byte[] Data)[] options)
    {
        var query = RawDns.Query("cookie.example.test", 1, id: id, ednsSize: 1232);
        var data = new List<byte>();
        foreach (var (code, value) in options)
        {
            data.Add((byte)(code >> 8));
            data.Add((byte)code);
            data.Add((byte)(value.Length >> 8));
            data.Add((byte)value.Length);
            data.AddRange(value);
        }

        var result = query.Concat(data).ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(query.Length - 2), (ushort)data.Count);
        return result;
    }
}
