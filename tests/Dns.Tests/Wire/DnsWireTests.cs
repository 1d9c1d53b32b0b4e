using Router.Dns.Tests.Support;
using Router.Dns.Wire;

namespace Router.Dns.Tests.Wire;

public class DnsWireTests
{
    [Fact]
    public void DnsHeader_TryRead_ShorterThanTwelveBytes_ReturnsFalse()
    {
        Assert.False(DnsHeader.TryRead(new byte[11], out _));
        Assert.False(DnsHeader.TryRead([], out _));
    }

    [Fact]
    public void DnsHeader_TryWriteThenTryRead_RoundTrips()
    {
        var header = new DnsHeader(0xBEEF, 0x8180, 1, 2, 3, 4);
        var buffer = new byte[12];

        Assert.True(header.TryWrite(buffer));
        Assert.True(DnsHeader.TryRead(buffer, out var read));

        Assert.Equal(header, read);
        Assert.False(header.TryWrite(new byte[11]));
    }

    [Theory]
    [InlineData("web.local")]
    [InlineData("A.b-c.Example.TEST")]
    [InlineData("")]
    public void DnsName_TryWriteThenTryRead_RoundTrips(string name)
    {
        var buffer = new byte[300];

        Assert.True(DnsName.TryWrite(name, buffer, out var written));
        Assert.True(DnsName.TryRead(buffer.AsSpan(0, written), 0, out var read, out var end));

        Assert.Equal(name, read);
        Assert.Equal(written, end);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData("this-label-is-far-too-long-for-dns-because-it-has-more-than-63-chars")]
    public void DnsName_TryWrite_InvalidName_ReturnsFalse(string name)
    {
        Assert.False(DnsName.TryWrite(name, new byte[300], out _));
    }

    [Fact]
    public void DnsName_TryRead_PointerLoop_ReturnsFalse()
    {
        // A pointer at offset 0 that points at itself.
        byte[] message = [0xC0, 0x00];

        Assert.False(DnsName.TryRead(message, 0, out _, out _));
    }

    [Theory]
    [InlineData(new byte[] { 3, (byte)'a', (byte)'b' })]
    [InlineData(new byte[] { 0x40, 0 })]
    [InlineData(new byte[] { 0x80, 0 })]
    [InlineData(new byte[] { 0xC0 })]
    public void DnsName_TrySkip_TruncatedOrReserved_ReturnsFalse(byte[] message)
    {
        Assert.False(DnsName.TrySkip(message, 0, out _));
    }

    [Theory]
    [InlineData("web.local", true, 4)]
    [InlineData("A.B.C.Web.LOCAL", true, 10)]
    [InlineData("local", true, 0)]
    [InlineData("xlocal", false, 0)]
    [InlineData("local.example", false, 0)]
    [InlineData("example.com", false, 0)]
    public void DnsName_IsAtOrBelow_Zone_MatchesWholeLabelsOnly(string name, bool expected, int expectedPrefix)
    {
        var wire = new byte[300];
        DnsName.TryWrite(name, wire, out var length);

        var result = DnsName.IsAtOrBelow(wire.AsSpan(0, length), DnsName.ToWire("local"), out var prefix);

        Assert.Equal(expected, result);
        if (expected)
        {
            Assert.Equal(expectedPrefix, prefix);
        }
    }

    [Fact]
    public void DnsQuery_TryRead_ValidQueryWithOpt_ReadsQuestionAndEdns()
    {
        var query = RawDns.Query("Web.Local", 28, ednsSize: 4096, dnssecOk: true);

        Assert.Equal(DnsParseResult.Ok, DnsQuery.TryRead(query, out var parsed));

        Assert.Equal(0x4242, parsed.Header.Id);
        Assert.Equal(28, parsed.Question.Type);
        Assert.Equal(1, parsed.Question.Class);
        Assert.Equal(11, parsed.Question.NameLength);
        Assert.NotNull(parsed.Edns);
        Assert.Equal(4096, parsed.Edns!.Value.UdpPayloadSize);
        Assert.True(parsed.Edns.Value.DnssecOk);
        Assert.Equal(4096, parsed.MaxUdpSize);
    }

    [Fact]
    public void DnsQuery_TryRead_EveryTruncation_IsNeverOk()
    {
        var query = RawDns.Query("web.local", 1, ednsSize: 1232);

        for (var length = 0; length < query.Length; length++)
        {
            var result = DnsQuery.TryRead(query.AsSpan(0, length), out _);
            Assert.Equal(length < 12 ? DnsParseResult.NoHeader : DnsParseResult.Malformed, result);
        }
    }

    [Fact]
    public void DnsQuery_TryRead_TwoOptRecords_IsMalformed()
    {
        var query = RawDns.Query("web.local", 1, ednsSize: 1232);
        var opt = query[^11..];
        byte[] doubled = [.. query, .. opt];
        doubled[11] = 2;

        Assert.Equal(DnsParseResult.Malformed, DnsQuery.TryRead(doubled, out _));
    }

    [Fact]
    public void DnsQuery_TryRead_NoQuestion_IsMalformed()
    {
        var query = RawDns.Query("web.local", 1);
        query[5] = 0;

        Assert.Equal(DnsParseResult.Malformed, DnsQuery.TryRead(query, out var parsed));
        Assert.Equal(0x4242, parsed.Header.Id);
    }

    [Fact]
    public void DnsRecord_TryRead_DataBeyondEnd_ReturnsFalse()
    {
        // Root owner, type A, class IN, TTL, RDLENGTH 4 but only 2 bytes of data.
        byte[] record = [0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0];

        Assert.False(DnsRecord.TryRead(record, 0, out _));
        Assert.True(DnsRecord.TryRead([.. record, 0, 1], 0, out var read));
        Assert.Equal(60u, read.Ttl);
        Assert.Equal(5, read.TtlOffset);
    }

    [Fact]
    public void DnsMessageWriter_RecordThatDoesNotFit_ReturnsFalse()
    {
        var buffer = new byte[11];
        var writer = new DnsMessageWriter(buffer);

        Assert.True(writer.TryWritePointer(12));
        Assert.False(writer.TryBeginRecord(DnsRecordType.A, DnsClass.In, 5, out _));
        Assert.Equal(2, writer.Position);
    }

    [Fact]
    public void EdnsOpt_TryWriteThenRead_RoundTrips()
    {
        var opt = new EdnsOpt(1232, 1, 0, EdnsOpt.DnssecOkFlag);
        var buffer = new byte[EdnsOpt.EmptySize];

        Assert.True(opt.TryWrite(buffer, out var written));
        Assert.True(DnsRecord.TryRead(buffer, 0, out var record));

        Assert.Equal(EdnsOpt.EmptySize, written);
        Assert.Equal(DnsRecordType.Opt, record.Type);
        Assert.Equal(opt, EdnsOpt.FromRecord(record));
    }
}
