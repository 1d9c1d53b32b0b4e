using System.Text;
using Router.Routing.Direct;

namespace Router.Tests;

public sealed class ResponseHeadTests
{
    private static (ParseStatus Status, ResponseHead Head, int Consumed, string Text) Parse(string text, bool headRequest = false)
    {
        var head = new ResponseHead();
        var status = head.TryParse(Encoding.Latin1.GetBytes(text), headRequest, out var consumed);
        return (status, head, consumed, text);
    }

    private static List<(string Name, string Value)> Headers((ParseStatus, ResponseHead Head, int, string Text) parsed)
    {
        var bytes = Encoding.Latin1.GetBytes(parsed.Text);
        return [.. parsed.Head.Headers.Select(h => (Encoding.Latin1.GetString(h.Name(bytes)), Encoding.Latin1.GetString(h.Value(bytes))))];
    }

    [Fact]
    public void TryParse_ContentLength_LengthFramingKeepAliveAndHeadersInOrder()
    {
        var parsed = Parse("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 12\r\nSet-Cookie: a=1\r\nSet-Cookie:  b=2 \r\n\r\nhello world!");

        Assert.Equal(ParseStatus.Done, parsed.Status);
        Assert.Equal(200, parsed.Head.StatusCode);
        Assert.Equal(BodyFraming.Length, parsed.Head.Framing);
        Assert.Equal(12, parsed.Head.ContentLength);
        Assert.True(parsed.Head.KeepAlive);
        Assert.Equal(parsed.Text.IndexOf("hello", StringComparison.Ordinal), parsed.Consumed);
        Assert.Equal([("Server", "nginx"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")], Headers(parsed));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Len")]
    [InlineData("HTTP/1.1 200 OK\r\n")]
    [InlineData("HTTP/1.1 20")]
    [InlineData("HTT")]
    [InlineData("")]
    public void TryParse_PartialHead_Incomplete(string text) => Assert.Equal(ParseStatus.Incomplete, Parse(text).Status);

    [Theory]
    [InlineData("hello world\r\n\r\n", "does not start with HTTP/")]
    [InlineData("HTTP/2 200 OK\r\n\r\n", "status line")]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n", "status line")]
    [InlineData("HTTP/1.1 20x OK\r\n\r\n", "status line")]
    [InlineData("HTTP/1.1 099 Odd\r\n\r\n", "not a valid status")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", "Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "Content-Length")]
    [InlineData("HTTP/1.1 200 OK\r\n folded\r\nX-A: 1\r\n\r\n", "obs-fold")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 2\r\n\r\n", "obs-fold")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n", "obs-fold")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A: 1\r\n a\u0001b\r\n\r\n", "obs-fold")]
    [InlineData("HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n", "name: value")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n", "name: value")]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "name: value")]
    [InlineData("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "name: value")]
    [InlineData("HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\n\r\n", "control character")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "switched protocols")]
    public void TryParse_BrokenHead_InvalidWithReason(string text, string reason)
    {
        var parsed = Parse(text);

        Assert.Equal(ParseStatus.Invalid, parsed.Status);
        Assert.Contains(reason, parsed.Head.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_FoldedHeader_OneHeaderWithItsLineBreaksMarkedFolded()
    {
        var parsed = Parse("HTTP/1.1 200 OK\r\nX-A: one\r\n two \r\n\tthree\r\nKeep-Alive: a\r\n b\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal(ParseStatus.Done, parsed.Status);
        Assert.Equal([("X-A", "one\r\n two \r\n\tthree"), ("X-B", "2")], Headers(parsed));
        Assert.Equal([true, false], parsed.Head.Headers.Select(h => h.Folded));
    }

    [Fact]
    public void TryParse_SameContentLengthTwice_Accepted()
    {
        var parsed = Parse("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n");

        Assert.Equal(ParseStatus.Done, parsed.Status);
        Assert.Equal(5, parsed.Head.ContentLength);
    }

    [Fact]
    public void TryParse_ChunkedWithContentLength_ChunkedWinsAndLengthIsDropped()
    {
        var parsed = Parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");

        Assert.Equal(BodyFraming.Chunked, parsed.Head.Framing);
        Assert.Equal(-1, parsed.Head.ContentLength);
        Assert.True(parsed.Head.KeepAlive);
        Assert.Empty(Headers(parsed));
    }

    [Fact]
    public void TryParse_TransferEncodingNotEndingInChunked_BodyUntilCloseNotReusable()
    {
        var parsed = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");

        Assert.Equal(BodyFraming.UntilClose, parsed.Head.Framing);
        Assert.False(parsed.Head.KeepAlive);
    }

    [Fact]
    public void TryParse_NoLength_BodyUntilCloseNotReusable()
    {
        var parsed = Parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");

        Assert.Equal(BodyFraming.UntilClose, parsed.Head.Framing);
        Assert.False(parsed.Head.KeepAlive);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false)]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", true)]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n", true)]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1\r\n\r\n", false)]
    public void TryParse_ConnectionHeaderAndVersion_DecideReuse(string text, bool keepAlive) =>
        Assert.Equal(keepAlive, Parse(text).Head.KeepAlive);

    [Theory]
    [InlineData("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", false)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n", false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", true)]
    public void TryParse_NoBodyStatusOrHead_NoFraming(string text, bool headRequest)
    {
        var parsed = Parse(text, headRequest);

        Assert.Equal(BodyFraming.None, parsed.Head.Framing);
        Assert.True(parsed.Head.KeepAlive);
    }

    [Fact]
    public void TryParse_HopByHopHeaders_LeftOutAndConnectionNamesNoted()
    {
        var text = "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nProxy-Connection: x\r\n"
            + "Upgrade: h2c\r\nTrailer: X-T\r\nAlt-Svc: h3\r\nX-Kept: yes\r\nContent-Length: 0\r\n\r\n";
        var parsed = Parse(text);

        Assert.Equal([("X-Hop", "1"), ("X-Kept", "yes")], Headers(parsed));
        Assert.True(parsed.Head.ConnectionNamesHeaders);
        Assert.Equal("keep-alive, X-Hop", Encoding.Latin1.GetString(parsed.Head.ConnectionValue(Encoding.Latin1.GetBytes(text))));
    }

    [Fact]
    public void TryParse_InterimResponse_DoneWithItsOwnLength()
    {
        var text = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        var parsed = Parse(text);

        Assert.Equal(ParseStatus.Done, parsed.Status);
        Assert.Equal(103, parsed.Head.StatusCode);
        Assert.Equal(text.IndexOf("HTTP/1.1 200", StringComparison.Ordinal), parsed.Consumed);
    }

    [Fact]
    public void TryParse_BareLineFeeds_Accepted()
    {
        var parsed = Parse("HTTP/1.1 404 Not Found\nContent-Length: 0\nX-A: b\n\n");

        Assert.Equal(ParseStatus.Done, parsed.Status);
        Assert.Equal(404, parsed.Head.StatusCode);
        Assert.Equal([("X-A", "b")], Headers(parsed));
    }

    [Fact]
    public void TryParse_EmptyReason_Accepted() => Assert.Equal(ParseStatus.Done, Parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").Status);

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1a", 26L)]
    [InlineData("FF;name=value", 255L)]
    [InlineData("10 ;ext", 16L)]
    [InlineData("fffffffffffffff", 0xfffffffffffffffL)]
    public void TryParseChunkSize_HexWithExtensions_Parsed(string line, long size)
    {
        Assert.True(ResponseHead.TryParseChunkSize(Encoding.ASCII.GetBytes(line), out var parsed));
        Assert.Equal(size, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("-1")]
    [InlineData("1 2")]
    [InlineData("1000000000000000")]
    public void TryParseChunkSize_NotASize_False(string line) => Assert.False(ResponseHead.TryParseChunkSize(Encoding.ASCII.GetBytes(line), out _));
}
