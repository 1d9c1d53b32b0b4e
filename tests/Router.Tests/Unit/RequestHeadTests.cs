using System.Text;
using Router.Routing.Direct;

namespace Router.Tests;

public sealed class RequestHeadTests
{
    private const int MaxLength = 16 * 1024;

    /// <summary>Plain heads with what their offsets must point at: target, path, Host value, method, Close.</summary>
    public static readonly TheoryData<string, string, string, string, bool, bool> PlainHeads = new()
    {
        { "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "/", "/", "example.com", false, false },
        { "HEAD /a/b?x=1&y=%2F HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n", "/a/b?x=1&y=%2F", "/a/b", "example.com:8080", true, true },
        {
            "GET /api/v1/items?q=a/b?c HTTP/1.1\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\nHost:\t app.local \t\r\nConnection: Keep-Alive\r\nCookie: name=Jos\u00e9\r\n\r\n",
            "/api/v1/items?q=a/b?c", "/api/v1/items", "app.local", false, false
        },
        { "GET /-._~!$&'()*+,;=:@/..a/.b/a../...? HTTP/1.1\r\nhost:10.0.0.1:65535\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n", "/-._~!$&'()*+,;=:@/..a/.b/a../...?", "/-._~!$&'()*+,;=:@/..a/.b/a../...", "10.0.0.1:65535", false, false },
        { "GET //a//b HTTP/1.1\r\nHOST: a-b_c.example\r\nconnection: CLOSE\r\nX-Obs: \u0080\u00ff\r\n\r\n", "//a//b", "//a//b", "a-b_c.example", false, true },
        { ManyHeaders(99), "/many", "/many", "many.example", false, false },
    };

    public static readonly TheoryData<string> PlainHeadTexts = [.. PlainHeads.Select(row => (string)row[0])];

    private static string ManyHeaders(int ordinary)
    {
        var head = new StringBuilder("GET /many HTTP/1.1\r\n");
        for (var i = 0; i < ordinary; i++)
        {
            head.Append("X-Header-").Append(i).Append(": value ").Append(i).Append("\r\n");
            if (i == ordinary / 2)
            {
                head.Append("Host: many.example\r\n");
            }
        }

        return head.Append("\r\n").ToString();
    }

    private static HeadVerdict Parse(string text, out PlainHead head, int maxLength = MaxLength) =>
        RequestHead.Parse(Encoding.Latin1.GetBytes(text), maxLength, out head);

    private static string Slice(string text, int start, int length) => text.Substring(start, length);

    [Theory]
    [MemberData(nameof(PlainHeads))]
    public void Parse_PlainHead_PlainWithEveryOffset(string text, string target, string path, string host, bool isHead, bool close)
    {
        var verdict = Parse(text, out var head);

        Assert.Equal(HeadVerdict.Plain, verdict);
        Assert.Equal(text.Length, head.Length);
        Assert.Equal(isHead, head.IsHead);
        Assert.Equal(target, Slice(text, head.TargetStart, head.TargetLength));
        Assert.Equal(path, Slice(text, head.TargetStart, head.PathLength));
        Assert.Equal(host, Slice(text, head.HostStart, head.HostLength));
        Assert.Equal(text.IndexOf("\r\n", StringComparison.Ordinal) + 2, head.HeadersStart);
        Assert.Equal(close, head.Close);
    }

    [Theory]
    [MemberData(nameof(PlainHeadTexts))]
    public void Parse_EveryStrictPrefixOfPlainHead_Incomplete(string text)
    {
        var bytes = Encoding.Latin1.GetBytes(text);
        for (var length = 0; length < bytes.Length; length++)
        {
            var verdict = RequestHead.Parse(bytes.AsSpan(0, length), MaxLength, out var head);
            Assert.True(verdict == HeadVerdict.Incomplete, $"prefix of {length} bytes: {verdict}");
            Assert.Equal(default, head);
        }
    }

    [Theory]
    [MemberData(nameof(PlainHeadTexts))]
    public void Parse_PipelinedBytesAfterHead_PlainLengthStopsAtEmptyLine(string text)
    {
        var verdict = Parse(text + "GET /next HTTP/1.1\r\n", out var head);

        Assert.Equal(HeadVerdict.Plain, verdict);
        Assert.Equal(text.Length, head.Length);
    }

    [Fact]
    public void Parse_HeadOfExactlyMaxLength_Plain()
    {
        var text = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

        Assert.Equal(HeadVerdict.Plain, Parse(text, out _, maxLength: text.Length));
        Assert.Equal(HeadVerdict.NotPlain, Parse(text, out _, maxLength: text.Length - 1));
        Assert.Equal(HeadVerdict.NotPlain, Parse(text[..^2], out _, maxLength: text.Length - 2));
        Assert.Equal(HeadVerdict.Incomplete, Parse(text[..^2], out _, maxLength: text.Length - 1));
    }

    [Fact]
    public void Parse_HeadLongerThanMaxLength_NotPlain()
    {
        var text = $"GET / HTTP/1.1\r\nHost: a\r\nCookie: {new string('c', 20_000)}\r\n\r\n";

        Assert.Equal(HeadVerdict.NotPlain, Parse(text, out _));
        Assert.Equal(HeadVerdict.NotPlain, Parse(text[..MaxLength], out _));
        Assert.Equal(HeadVerdict.Incomplete, Parse(text[..(MaxLength - 1)], out _));
        Assert.Equal(HeadVerdict.Plain, Parse(text, out _, maxLength: 64 * 1024));
    }

    [Fact]
    public void Parse_RequestLineOverKestrelLimit_NotPlain()
    {
        // Kestrel's MaxRequestLineSize (8 KiB) holds the line with its CRLF; one byte more is its 414.
        var fits = $"GET /{new string('a', 8192 - 16)} HTTP/1.1\r\nHost: a\r\n\r\n";
        var over = $"GET /{new string('a', 8192 - 15)} HTTP/1.1\r\nHost: a\r\n\r\n";

        Assert.Equal(8192, fits.IndexOf('\n', StringComparison.Ordinal) + 1);
        Assert.Equal(HeadVerdict.Plain, Parse(fits, out _));
        Assert.Equal(HeadVerdict.NotPlain, Parse(over, out _));
    }

    [Fact]
    public void Parse_HundredHeaders_PlainAndHundredAndOne_NotPlain()
    {
        Assert.Equal(HeadVerdict.Plain, Parse(ManyHeaders(99), out _));
        Assert.Equal(HeadVerdict.NotPlain, Parse(ManyHeaders(100), out _));
    }

    [Theory]
    [InlineData("G")]
    [InlineData("GE")]
    [InlineData("HEAD")]
    [InlineData("GET /a HTTP/1.")]
    [InlineData("GET /a?b=%4")]
    [InlineData("GET /a/..")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r")]
    public void Parse_ValidPrefix_Incomplete(string text)
    {
        Assert.Equal(HeadVerdict.Incomplete, Parse(text, out _));
    }

    [Theory]
    [InlineData("P")]
    [InlineData("POST")]
    [InlineData("GET /a HTTP/1.0\r\n")]
    [InlineData("GET /a HTTP/1.1 ")]
    [InlineData("GET /../")]
    [InlineData("GET /a%")]
    [InlineData("GET / HTTP/1.1\r\nContent-Length:")]
    [InlineData("GET / HTTP/1.1\r\n Host")]
    public void Parse_PrefixBreakingARule_NotPlainAtOnce(string text)
    {
        Assert.Equal(HeadVerdict.NotPlain, Parse(text, out _));
    }

    [Fact]
    public void Parse_PlainAndNotPlainHeads_AllocateNothing()
    {
        // It runs for every request on the fast path.
        var plain = Encoding.Latin1.GetBytes((string)PlainHeads.First()[0]);
        var notPlain = Encoding.Latin1.GetBytes("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: b\r\n\r\n");
        RequestHead.Parse(plain, MaxLength, out _);
        RequestHead.Parse(notPlain, MaxLength, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            RequestHead.Parse(plain, MaxLength, out _);
            RequestHead.Parse(notPlain, MaxLength, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Parse_EmptyBuffer_Incomplete()
    {
        Assert.Equal(HeadVerdict.Incomplete, RequestHead.Parse([], MaxLength, out _));
    }

    [Theory]
    // Request smuggling: CL.TE, TE.CL and body framing of any kind.
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\n\r\nhello")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-encoding: xchunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\tTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n \r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX-Content-Length: 5\r\n\r\n")]
    // Host: exactly one, a plain name and port.
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHOST: a\r\nhost: b\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:0\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:080\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:+80\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: :80\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a=b\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a b\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a.b%2ec\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a.com, b.com\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: \r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost:\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nX: y\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\n\r\n")]
    // Request line: one form, one spelling.
    [InlineData("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET * HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("get / HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET  / HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /  HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET / HTTP/1.0\r\nHost: a\r\n\r\n")]
    [InlineData("GET / HTTP/1.1 \r\nHost: a\r\n\r\n")]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n")]
    [InlineData("GET / http/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData(" GET / HTTP/1.1\r\nHost: a\r\n\r\n")]
    // Line ends and control bytes.
    [InlineData("GET / HTTP/1.1\nHost: a\n\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\u007fb\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\u001bb\r\n\r\n")]
    // Header names.
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX y\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX\u00e9: y\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n")]
    // Connection: one line, one token.
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Foo\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, close\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: close\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nconnection: X-Foo\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: \r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For\r\n\r\n")]
    // Headers that belong to one hop, switch protocols or carry client facts.
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-host: evil\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_Proto: https\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nForwarded: for=x\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: keep-alive\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nKeep-Alive: timeout=5\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTrailer: X\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Basic eA==\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nAlt-Svc: h2=\":443\"\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nClose: x\r\n\r\n")]
    // Targets Kestrel would decode or normalize before routing, or that are not a path and query.
    [InlineData("GET /%2e%2e/ HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /../ HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /./ HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a/.. HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a/. HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a/..?x HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /.. HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a%20b HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a?b#c HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a?x=%zz HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a?x=%2 HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a?x=% HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a[b] HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n")]
    public void Parse_OddOrSmugglingHead_NotPlainAndNeverPlainOnAnyPrefix(string text)
    {
        var bytes = Encoding.Latin1.GetBytes(text);

        Assert.Equal(HeadVerdict.NotPlain, RequestHead.Parse(bytes, MaxLength, out var head));
        Assert.Equal(default, head);
        AssertNotPlainStays(bytes);
    }

    [Fact]
    public void Parse_NotPlainPrefix_StaysNotPlainAsBytesArrive()
    {
        var bytes = Encoding.Latin1.GetBytes("POST / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(HeadVerdict.NotPlain, RequestHead.Parse(bytes.AsSpan(0, 1), MaxLength, out _));
        AssertNotPlainStays(bytes);
    }

    /// <summary>Over all prefixes the verdicts run Incomplete…, then NotPlain to the end: never Plain, never back.</summary>
    private static void AssertNotPlainStays(byte[] bytes)
    {
        var notPlainFrom = -1;
        for (var length = 0; length <= bytes.Length; length++)
        {
            var verdict = RequestHead.Parse(bytes.AsSpan(0, length), MaxLength, out _);
            Assert.NotEqual(HeadVerdict.Plain, verdict);
            if (verdict == HeadVerdict.NotPlain && notPlainFrom < 0)
            {
                notPlainFrom = length;
            }

            Assert.True(notPlainFrom < 0 || verdict == HeadVerdict.NotPlain, $"NotPlain at {notPlainFrom} bytes, {verdict} at {length}");
        }

        Assert.True(notPlainFrom > 0);
    }
}
