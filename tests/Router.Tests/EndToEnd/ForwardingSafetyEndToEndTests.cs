using System.Collections.Concurrent;
using System.Text;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// Forwarding safety on both paths (issue 12): a response never reaches the wrong client, nothing that is not
/// idempotent runs twice, header bytes pass unchanged, and the policy both paths share. Backends
/// are scripted byte for byte (<see cref="RawHttpBackend"/>); clients speak raw HTTP/1.1 (<see cref="RawHttpClient"/>).
/// </summary>
public abstract class ForwardingSafetyEndToEndTests(SharedEtcdFixture fixture, bool direct, string? forwarder = null, string[]? more = null)
    : RouterScenario(fixture, [.. forwarder is not null ? ["--http-forwarder", forwarder] : direct ? Array.Empty<string>() : ["--http-forwarder", "yarp"], .. more ?? []])
{
    private const int Rounds = 20;

    /// <summary>A whole response, as a backend that wants to be believed would send it after the real one.</summary>
    private const string Smuggled = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nsmuggled";

    protected bool Direct => direct;

    [Theory]
    [InlineData("head")]
    [InlineData("204")]
    [InlineData("304")]
    [InlineData("longer")]
    public async Task LateBytesAfterCompleteResponse_TwoAlternatingClients_EachGetsItsOwnAnswer(string kind)
    {
        var lateSent = 0;
        var seen = new ConcurrentQueue<(int Connection, string Target)>();
        var backend = await StartAsync("web", async e =>
        {
            seen.Enqueue((e.Connection, e.Request.Target));
            if (!e.Request.Target.StartsWith("/poison", StringComparison.Ordinal))
            {
                await e.SendAsync(Response(200, "OK", e.Request.Target));
                return;
            }

            // The complete response, flushed; then, in a later segment, bytes no request asked for (Python's
            // http.server with do_HEAD = do_GET sends a HEAD its body this way).
            await e.SendAsync(kind switch
            {
                "head" => $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {Smuggled.Length}\r\n\r\n",
                "204" => "HTTP/1.1 204 No Content\r\n\r\n",
                "304" => "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n",
                _ => "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nfirst",
            });
            await Task.Delay(30, e.Stopping);
            await e.SendAsync(Smuggled);
            Interlocked.Increment(ref lateSent);
        });

        using var first = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        using var second = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        for (var round = 0; round < Rounds; round++)
        {
            var (poisoner, victim) = round % 2 == 0 ? (first, second) : (second, first);
            var method = kind == "head" ? "HEAD" : "GET";
            var poisoned = await poisoner.ExchangeAsync(Request(method, "web.example.com", $"/poison/{round}"), toHead: kind == "head");
            Assert.Equal(kind switch { "204" => 204, "304" => 304, _ => 200 }, poisoned.Status);
            if (kind == "longer")
            {
                Assert.Equal("first", poisoned.BodyText);
            }

            // The next request comes once the late bytes are on their way to the router.
            var expected = round + 1;
            await Wait.UntilAsync(() => Volatile.Read(ref lateSent) >= expected, "the backend to send its late bytes");
            var own = await victim.ExchangeAsync(Request("GET", "web.example.com", $"/own/{round}"));
            Assert.Equal(200, own.Status);
            Assert.Equal($"/own/{round}", own.BodyText);
        }

        // No request ever went on a backend connection after a poisoned response: each was closed.
        var requests = seen.ToArray();
        for (var i = 0; i < requests.Length; i++)
        {
            if (requests[i].Target.StartsWith("/poison", StringComparison.Ordinal))
            {
                Assert.DoesNotContain(requests[(i + 1)..], r => r.Connection == requests[i].Connection);
            }
        }

        Assert.Equal(2 * Rounds, requests.Length);
        Assert.Empty(backend.Errors);
    }

    [Theory]
    [InlineData("POST", false)]
    [InlineData("POST", true)]
    [InlineData("PATCH", false)]
    [InlineData("PATCH", true)]
    public async Task BackendClosesWithoutAnswering_NotIdempotent_SentOnceAnd502(string method, bool zeroLength)
    {
        var backend = await StartAsync("web", async e =>
        {
            if (e.Request.Target == "/warm")
            {
                await e.SendAsync(Response(200, "OK", "warm"));
                return;
            }

            // Read the request, then went away without a word (a crash, a restart, an idle close racing it).
            e.Close();
        });

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);

        // The backend connection is kept alive after this, so the next request goes on a reused one: the case
        // where a stale-connection retry could send it twice.
        Assert.Equal("warm", (await client.ExchangeAsync(Request("GET", "web.example.com", "/warm"))).BodyText);
        var response = await client.ExchangeAsync(Request(method, "web.example.com", "/once", zeroLength ? ["Content-Length: 0"] : []));

        var once = backend.Requests.Where(r => r.Target == "/once").ToList();
        Assert.True(once.Count == 1, $"the backend saw {once.Count} requests; router log:\n{Proxy.Process.Output}");
        Assert.Equal(method, once[0].Method);
        Assert.Equal(502, response.Status);
    }

    [Fact]
    public async Task BackendClosesWithoutAnswering_Get_SentAgainOnNewConnection()
    {
        var backend = await StartAsync("web", async e =>
        {
            if (e.Request.Target == "/warm")
            {
                await e.SendAsync(Response(200, "OK", "warm"));
                return;
            }

            e.Close();
        });

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        Assert.Equal("warm", (await client.ExchangeAsync(Request("GET", "web.example.com", "/warm"))).BodyText);
        var response = await client.ExchangeAsync(Request("GET", "web.example.com", "/again"));

        // Idempotent (RFC 9110 §9.2.2): the router may send it again, and does on a fresh connection; that
        // one closes too, so the client gets 502 in the end.
        Assert.Equal(502, response.Status);
        Assert.True(backend.Requests.Count(r => r.Target == "/again") >= 2, $"{backend.Requests.Count(r => r.Target == "/again")} GETs reached the backend");
    }

    [Fact]
    public async Task NonAsciiHeaderBytes_PassUnchangedBothWays()
    {
        var disposition = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes("attachment; filename=\"résumé – 履歴書.pdf\""));
        var backend = await StartAsync("web", e => e.SendAsync(
            "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Disposition: " + disposition + "\r\nX-Latin: caf\u00e9\r\nContent-Length: 2\r\n\r\nok"));

        // Sent as raw bytes: the UTF-8 of "José", and one Latin-1 byte.
        var cookie = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes("user=José"));
        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        // Without a body (the direct path when it is on) and with one (always YARP).
        foreach (var body in new[] { "", "hi" })
        {
            var response = await client.ExchangeAsync(
                Request(body.Length == 0 ? "GET" : "POST", "web.example.com", "/", "Cookie: " + cookie, "X-Latin: caf\u00e9", $"Content-Length: {body.Length}") + body);

            Assert.Equal(200, response.Status);
            Assert.Equal(Encoding.Latin1.GetBytes(disposition), Encoding.Latin1.GetBytes(response.Header("Content-Disposition")!));
            Assert.Equal("caf\u00e9", response.Header("X-Latin"));
        }

        Assert.Equal(2, backend.Requests.Count);
        Assert.All(backend.Requests, r =>
        {
            Assert.Equal(Encoding.UTF8.GetBytes("user=José"), Encoding.Latin1.GetBytes(r.Header("Cookie")!));
            Assert.Equal("caf\u00e9", r.Header("X-Latin"));
        });
    }

    [Fact]
    public async Task CustomReasonPhrase_PassesThrough()
    {
        await StartAsync("web", e => e.SendAsync(e.Request.Target == "/custom"
            ? "HTTP/1.1 299 All Fine Here\r\nContent-Length: 2\r\n\r\nok"
            : "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno"));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var custom = await client.ExchangeAsync(Request("GET", "web.example.com", "/custom"));
        var standard = await client.ExchangeAsync(Request("GET", "web.example.com", "/standard"));

        Assert.Equal("HTTP/1.1 299 All Fine Here", custom.StartLine);
        Assert.Equal("HTTP/1.1 404 Not Found", standard.StartLine);
    }

    private protected static string Request(string method, string host, string target, params string[] headers) =>
        $"{method} {target} HTTP/1.1\r\nHost: {host}\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "\r\n";

    private protected static string Response(int status, string reason, string body) =>
        $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.Latin1.GetByteCount(body)}\r\n\r\n{body}";
}

/// <summary>Forwarding safety on the default (direct) path.</summary>
public sealed class DirectForwardingSafetyEndToEndTests(SharedEtcdFixture fixture) : ForwardingSafetyEndToEndTests(fixture, direct: true);

/// <summary>Forwarding safety on the direct path behind Kestrel's HTTP layer (<c>--http-forwarder kestrel</c>): the default takes plain GET and HEAD at the connection.</summary>
public sealed class KestrelDirectForwardingSafetyEndToEndTests(SharedEtcdFixture fixture) : ForwardingSafetyEndToEndTests(fixture, direct: true, forwarder: "kestrel");

/// <summary>Forwarding safety on the default path with the HTTP port on the router's own event loops (<c>--http-transport epoll</c>).</summary>
public sealed class LoopTransportForwardingSafetyEndToEndTests(SharedEtcdFixture fixture) : ForwardingSafetyEndToEndTests(fixture, direct: true, more: ["--http-transport", "epoll"]);

/// <summary>Forwarding safety with <c>--http-forwarder yarp</c>.</summary>
public sealed class YarpForwardingSafetyEndToEndTests(SharedEtcdFixture fixture) : ForwardingSafetyEndToEndTests(fixture, direct: false);
