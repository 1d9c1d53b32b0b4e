using Router.Testing;

namespace Router.Tests.Differential;

/// <summary>
/// The cases, one line each where possible: the §5 list of issue 12, headers named in Connection both ways,
/// the hop-by-hop set, bodies chunked and by length both ways, HEAD, interim responses and Expect, long and
/// folded headers, duplicate Host (unequal and equal), a fragment and other odd characters in the target,
/// a Host with port 0, absolute form, dot segments, raw UTF-8 header bytes, and
/// Transfer-Encoding with Content-Length (request smuggling: never forwarded both).
/// </summary>
public static class DifferentialCases
{
    private const string Host = "web.example.com";

    public static readonly DifferentialCase[] All =
    [
        new("plain-get", Get("/"), Ok("hello")),
        new("repeated-content-length-list", Get("/"), Reply("200 OK", "Content-Length: 5, 5") + "hello")
        {
            YarpOnly = [IntendedDifference.YarpRepeatedContentLength],
        },
        new("repeated-content-length-lines", Get("/"), Reply("200 OK", "Content-Length: 5", "Content-Length: 5") + "hello")
        {
            YarpOnly = [IntendedDifference.YarpRepeatedContentLength],
        },
        new("repeated-content-length-with-request-body", Post("/", "abc"), Reply("200 OK", "Content-Length: 5, 5") + "hello")
        {
            // A request with a body takes YARP on both router peers.
            Both = [IntendedDifference.YarpRepeatedContentLength],
        },
        new("unequal-content-length", Get("/"), Reply("200 OK", "Content-Length: 5", "Content-Length: 6") + "hello!")
        {
            Check = o => Assert.StartsWith("502", o.ClientStatus, StringComparison.Ordinal),
        },
        new("no-content-with-body", Get("/"), Reply("204 No Content", "Content-Length: 5") + "hello")
        {
            Check = o => Assert.Equal(("204 No Content", ""), (o.ClientStatus, o.ClientBody)),
        },
        new("not-modified-keeps-content-length", Get("/", "If-None-Match: \"v1\""), Reply("304 Not Modified", "ETag: \"v1\"", "Content-Length: 5"))
        {
            Check = o => Assert.Contains("content-length: 5", o.ClientHeaders),
        },
        new("head-keeps-content-length", Request("HEAD", "/"), Reply("200 OK", "Content-Length: 5")) { Head = true },
        new("percent-encoded-path", Get("/a%2Fb%7E%41/%25?x=%2F&y=%20"), Ok("ok"))
        {
            Check = o => Assert.Equal("GET /a%2Fb%7E%41/%25?x=%2F&y=%20 HTTP/1.1", o.BackendRequestLine),
        },
        new("percent-encoded-path-with-body", Post("/a%2Fb%7E", "abc"), Ok("ok"))
        {
            Check = o => Assert.Equal("POST /a%2Fb%7E HTTP/1.1", o.BackendRequestLine),
        },
        new("options-asterisk", Request("OPTIONS", "*"), Ok(""))
        {
            YarpOnly = [IntendedDifference.YarpOptionsStar],
        },
        new("custom-reason-phrase", Get("/"), Reply("299 All Fine Here", "Content-Length: 2") + "ok"),
        new("connection-names-request-header", Get("/", "Connection: X-Foo, close", "X-Foo: bar"), Ok("ok"))
        {
            Both = [IntendedDifference.ConnectionNamed],
            Check = o => Assert.DoesNotContain(o.BackendHeaders, h => h.StartsWith("x-foo", StringComparison.Ordinal)),
        },
        new("connection-names-request-header-alone", Get("/", "Connection: X-Foo", "X-Foo: bar", "X-Kept: yes"), Ok("ok"))
        {
            Both = [IntendedDifference.ConnectionNamed],
            Check = o =>
            {
                Assert.DoesNotContain(o.BackendHeaders, h => h.StartsWith("x-foo", StringComparison.Ordinal));
                Assert.Contains("x-kept: yes", o.BackendHeaders);
            },
        },
        new("connection-names-request-header-with-body", Post("/", "abc", "Connection: keep-alive, X-Foo", "X-Foo: bar"), Ok("ok"))
        {
            Both = [IntendedDifference.ConnectionNamed],
            Check = o => Assert.DoesNotContain(o.BackendHeaders, h => h.StartsWith("x-foo", StringComparison.Ordinal)),
        },
        new("connection-names-response-header", Get("/"), Reply("200 OK", "Connection: X-Bar", "X-Bar: 1", "X-Kept: yes", "Content-Length: 2") + "ok")
        {
            Both = [IntendedDifference.ConnectionNamed],
            Check = o => Assert.Equal(["content-length: 2", "x-kept: yes"], o.ClientHeaders),
        },
        new("hop-by-hop-request-headers", Get("/", "Keep-Alive: timeout=5", "TE: trailers", "Trailer: X-T", "Proxy-Connection: keep-alive", "Proxy-Authorization: Basic eDp5", "Upgrade-Insecure-Requests: 1"), Ok("ok"))
        {
            Both = [IntendedDifference.HopByHop],
            Check = o => Assert.Equal(["host: web.example.com", "upgrade-insecure-requests: 1"], o.BackendHeaders),
        },
        new("hop-by-hop-request-headers-with-body", Post("/", "abc", "Keep-Alive: timeout=5", "TE: trailers", "Proxy-Connection: keep-alive", "Upgrade-Insecure-Requests: 1"), Ok("ok"))
        {
            Both = [IntendedDifference.HopByHop],
            Check = o => Assert.Equal(["content-length: 3", "host: web.example.com", "upgrade-insecure-requests: 1"], o.BackendHeaders),
        },
        new("hop-by-hop-response-headers", Get("/"), Reply("200 OK", "Keep-Alive: timeout=5", "Proxy-Authenticate: Basic", "Alt-Svc: h3=\":443\"", "Trailer: X-T", "Content-Length: 2") + "ok")
        {
            Both = [IntendedDifference.HopByHop],
            Check = o => Assert.Equal(["content-length: 2"], o.ClientHeaders),
        },
        new("chunked-response", Get("/"), Reply("200 OK", "Transfer-Encoding: chunked") + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        {
            Check = o => Assert.Equal("hello world", o.ClientBody),
        },
        new("until-close-response", Get("/"), Reply("200 OK") + "until close") { CloseAfter = true },
        new("chunked-request-body", Request("POST", "/", "Transfer-Encoding: chunked") + "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", Ok("ok"))
        {
            Check = o => Assert.Equal("abcde", o.BackendBody),
        },
        new("length-request-body", Post("/", "hello body"), Ok("ok"))
        {
            Check = o => Assert.Equal("hello body", o.BackendBody),
        },
        new("expect-continue", Request("POST", "/", "Expect: 100-continue", "Content-Length: 3") + "abc", Ok("ok")),
        new("interim-early-hints", Get("/"), "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + Ok("ok"))
        {
            Both = [IntendedDifference.InterimDropped],
        },
        new("long-headers", Get("/", "X-Long: " + new string('a', 6000)), Reply("200 OK", "X-Long: " + new string('b', 6000), "Content-Length: 2") + "ok"),
        new("obs-fold-request", Get("/", "X-Fold: one", " two"), Ok("ok"))
        {
            Both = [IntendedDifference.ObsFoldRequest],
            Check = o => Assert.Equal(("400 (the peer's own answer)", 0), (o.ClientStatus, o.BackendCount)),
        },
        new("obs-fold-response", Get("/"), Reply("200 OK", "X-Fold: one", " two", "Content-Length: 2") + "ok")
        {
            Check = o => Assert.Contains("x-fold: one   two", o.ClientHeaders),
        },
        new("duplicate-host", Get("/", "Host: other.example.com"), Ok("ok"))
        {
            Check = o => Assert.Equal(0, o.BackendCount),
        },
        new("duplicate-host-same", Get("/", $"Host: {Host}"), Ok("ok"))
        {
            Both = [IntendedDifference.RepeatedHost],
            Check = o => Assert.Equal(("400 (the peer's own answer)", 0), (o.ClientStatus, o.BackendCount)),
        },
        new("fragment-in-target", Get("/a#b"), Ok("ok"))
        {
            // A request target has no fragment (RFC 9112 §3.2); a backend could read the path as ending at '#'.
            Check = o => Assert.Equal(0, o.BackendCount),
        },
        new("backslash-in-target", Get("/a\\b"), Ok("ok")),
        new("quote-in-target", Get("/a\"b"), Ok("ok")),
        new("brackets-in-target", Get("/a[b]"), Ok("ok")),
        new("host-port-zero", Request("GET", "/").Replace($"Host: {Host}", $"Host: {Host}:0", StringComparison.Ordinal), Ok("ok")),
        new("absolute-form-target", $"GET http://{Host}/abs?q=1 HTTP/1.1\r\nHost: {Host}\r\nX-Case: {{case}}\r\n\r\n", Ok("ok"))
        {
            Both = [IntendedDifference.AbsoluteForm],
            Check = o => Assert.Equal("GET /abs?q=1 HTTP/1.1", o.BackendRequestLine),
        },
        new("dot-segments", Get("/a/../b/./c"), Ok("ok"))
        {
            Both = [IntendedDifference.DotSegments],
            Check = o => Assert.Equal("GET /b/c HTTP/1.1", o.BackendRequestLine),
        },
        new("utf8-header-bytes", Get("/", "Cookie: " + Utf8("user=José")), Reply("200 OK", "Content-Disposition: attachment; filename=\"" + Utf8("résumé.pdf") + "\"", "Content-Length: 2") + "ok")
        {
            Check = o =>
            {
                Assert.Contains("cookie: " + Utf8("user=José"), o.BackendHeaders);
                Assert.Contains("content-disposition: attachment; filename=\"" + Utf8("résumé.pdf") + "\"", o.ClientHeaders);
            },
        },
        new("transfer-encoding-and-content-length-request", Request("POST", "/", "Transfer-Encoding: chunked", "Content-Length: 4") + "3\r\nabc\r\n0\r\n\r\n", Ok("ok"))
        {
            Check = NeverBothInRequest,
        },
        new("transfer-encoding-and-content-length-response", Get("/"), Reply("200 OK", "Transfer-Encoding: chunked", "Content-Length: 40") + "5\r\nhello\r\n0\r\n\r\n")
        {
            Check = o =>
            {
                if (o.RawClient is { } response)
                {
                    Assert.False(response.Has("Transfer-Encoding") && response.Has("Content-Length"), "the client got both Transfer-Encoding and Content-Length");
                }
            },
        },
    ];

    public static IEnumerable<object[]> Names => All.Select(c => new object[] { c.Name });

    public static DifferentialCase Named(string name) => All.Single(c => c.Name == name);

    private static void NeverBothInRequest(Observation o)
    {
        foreach (var request in o.RawBackend)
        {
            Assert.False(request.Has("Transfer-Encoding") && request.Has("Content-Length"), "the backend got both Transfer-Encoding and Content-Length");
        }
    }

    private static string Utf8(string text) => System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes(text));

    private static string Get(string target, params string[] headers) => Request("GET", target, headers);

    private static string Post(string target, string body, params string[] headers) =>
        Request("POST", target, [.. headers, $"Content-Length: {body.Length}"]) + body;

    private static string Request(string method, string target, params string[] headers) =>
        $"{method} {target} HTTP/1.1\r\nHost: {Host}\r\n{Observation.CaseHeader}: {{case}}\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "\r\n";

    private static string Ok(string body) => Reply("200 OK", $"Content-Length: {body.Length}") + body;

    private static string Reply(string status, params string[] headers) =>
        $"HTTP/1.1 {status}\r\n{Observation.BackendMarker}: 1\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "\r\n";
}
