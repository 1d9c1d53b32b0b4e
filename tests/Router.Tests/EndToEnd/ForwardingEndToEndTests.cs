using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// How the real router forwards HTTP/1.1 between real sockets in the edge cases: body framings, bodiless
/// responses, stale and broken backend connections, hop-by-hop headers, interim responses, aborts. Backends
/// are scripted byte for byte (<see cref="RawHttpBackend"/>); what they and the clients see is the contract,
/// whatever forwards it.
/// </summary>
public abstract class ForwardingEndToEndTests(SharedEtcdFixture fixture, bool direct, string[]? more = null)
    : RouterScenario(fixture, ["--backend-timeout", BackendTimeoutSeconds, .. direct ? Array.Empty<string>() : ["--http-forwarder", "yarp"], .. more ?? []])
{
    private const string BackendTimeoutSeconds = "3";

    private static readonly byte[] LargeBody = Pattern(8 * 1024 * 1024, seed: 8);

    [Fact]
    public async Task ChunkedResponse_ExtensionAndTrailers_ClientGetsExactBody()
    {
        await StartAsync("web", async e => await e.SendAsync(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n" +
            Chunk("hello") + Chunk(", chunk", ";note=\"two words\"") + Chunk(" with a longer third one.") +
            "0\r\nX-Checksum: 42\r\n\r\n"));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var first = await client.ExchangeAsync(Get("web.example.com", "/"));
        var second = await client.ExchangeAsync(Get("web.example.com", "/again"));

        Assert.Equal(200, first.Status);
        Assert.True(first.Complete);
        Assert.Equal("hello, chunk with a longer third one.", first.BodyText);
        Assert.Equal("text/plain", first.Header("Content-Type"));
        Assert.Equal(first.BodyText, second.BodyText);
    }

    [Fact]
    public async Task CloseDelimitedResponse_Http11AndHttp10_ClientGetsExactBody()
    {
        var body = Pattern(300_000, seed: 2);
        var backend = await StartAsync("web", async e =>
        {
            var version = e.Request.Target == "/old" ? "HTTP/1.0" : "HTTP/1.1";
            await e.SendAsync($"{version} 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
            await e.SendAsync(body);
            e.Close();
        });

        foreach (var path in new[] { "/new", "/old", "/new" })
        {
            using var response = await GetAsync("web.example.com", path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(3, backend.Connections);
    }

    [Fact]
    public async Task Head_ContentLengthWithoutBody_ClientGetsLengthNoBodyAndConnectionStaysUsable()
    {
        await StartAsync("web", e => e.SendAsync(e.Request.Method == "HEAD"
            ? "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n"
            : Response(200, "OK", "after head")));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var head = await client.ExchangeAsync(Request("HEAD", "web.example.com", "/file"), toHead: true);
        var get = await client.ExchangeAsync(Get("web.example.com", "/file"));

        Assert.Equal(200, head.Status);
        Assert.Equal("1234", head.Header("Content-Length"));
        Assert.False(head.Has("Transfer-Encoding"));
        Assert.Empty(head.Body);

        // Had any body byte followed the HEAD answer, this would not parse as the next response.
        Assert.Equal(200, get.Status);
        Assert.Equal("after head", get.BodyText);
    }

    [Fact]
    public async Task NoContentAndNotModified_NoBody_ConnectionStaysUsable()
    {
        await StartAsync("web", e => e.SendAsync(e.Request.Target switch
        {
            "/204" => "HTTP/1.1 204 No Content\r\nX-Done: yes\r\n\r\n",
            "/304" => "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: max-age=60\r\n\r\n",
            _ => Response(200, "OK", "next"),
        }));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var noContent = await client.ExchangeAsync(Get("web.example.com", "/204"));
        var afterNoContent = await client.ExchangeAsync(Get("web.example.com", "/"));
        var notModified = await client.ExchangeAsync(Get("web.example.com", "/304", "If-None-Match: \"v1\""));
        var afterNotModified = await client.ExchangeAsync(Get("web.example.com", "/"));

        Assert.Equal(204, noContent.Status);
        Assert.Equal("yes", noContent.Header("X-Done"));
        Assert.Empty(noContent.Body);

        // Neither a length nor a transfer coding on a 204 (RFC 9110 §8.6, RFC 9112 §6.1); no transfer coding
        // on a 304 either, which has no body to code.
        Assert.False(noContent.Has("Content-Length"));
        Assert.False(noContent.Has("Transfer-Encoding"));
        Assert.Equal(304, notModified.Status);
        Assert.Equal("\"v1\"", notModified.Header("ETag"));
        Assert.Empty(notModified.Body);
        Assert.False(notModified.Has("Transfer-Encoding"));
        Assert.Equal("next", afterNoContent.BodyText);
        Assert.Equal("next", afterNotModified.BodyText);
    }

    [Fact]
    public async Task BackendClosesKeptAliveConnection_AfterAnswerOrWhenIdle_EveryNextRequestSucceeds()
    {
        // Neither says Connection: close; the router finds out when it reuses the pooled connection.
        var closer = await StartAsync("closer", async e =>
        {
            await e.SendAsync(Response(200, "OK", "closer"));
            e.Close();
        });
        var idler = await StartAsync("idler", e => e.SendAsync(Response(200, "OK", "idler")), idleClose: TimeSpan.FromMilliseconds(50));
        var closerBefore = closer.Connections;
        var idlerBefore = idler.Connections;

        for (var i = 0; i < 20; i++)
        {
            using var response = await GetAsync("closer.example.com", "/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("closer", await response.Content.ReadAsStringAsync());
        }

        for (var i = 0; i < 20; i++)
        {
            using (var response = await GetAsync("idler.example.com", "/"))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("idler", await response.Content.ReadAsStringAsync());
            }

            var closed = i + 1;
            await Wait.UntilAsync(() => idler.ClosedConnections >= closed, "the idle backend connection to be closed");
        }

        Assert.Equal(closerBefore + 20, closer.Connections);
        Assert.Equal(idlerBefore + 20, idler.Connections);
    }

    [Fact]
    public async Task BackendAnswersGarbage_502AndRouterKeepsServing()
    {
        var poisonedClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await StartAsync("junk", async e =>
        {
            await e.SendAsync("SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n");
            poisonedClosed.TrySetResult(await e.WaitPeerClosedAsync(TimeSpan.FromSeconds(10)));
        });
        var web = Own(await TestBackend.StartAsync("web-1"));
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await Proxy.WaitRoutedAsync("web.example.com");

        using (var junk = await GetAsync("junk.example.com", "/"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, junk.StatusCode);
        }

        // A connection that spoke garbage is not kept for another request.
        Assert.True(await poisonedClosed.Task.WaitAsync(TimeSpan.FromSeconds(15)));
        var (status, echo) = await Proxy.EchoAsync("web.example.com", "/");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("web-1", echo!.Name);
        using var again = await GetAsync("junk.example.com", "/");
        Assert.Equal(HttpStatusCode.BadGateway, again.StatusCode);
        Assert.False(Proxy.Process.HasExited);
    }

    [Fact]
    public async Task BackendClosesBeforeContentLengthSent_ClientSeesTruncatedResponse()
    {
        var sent = Pattern(1000, seed: 7);
        await StartAsync("web", async e =>
        {
            await e.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n");
            await e.SendAsync(sent);
            e.Close();
        });

        // On the wire: the 200 head with the backend's length, at most the bytes that came, then the end of
        // the connection; never a response that looks whole.
        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var raw = await client.ExchangeAsync(Get("web.example.com", "/"));
        Assert.Equal(200, raw.Status);
        Assert.Equal("100000", raw.Header("Content-Length"));
        Assert.False(raw.Complete);
        Assert.True(raw.Body.Length <= sent.Length, $"{raw.Body.Length} body bytes");
        Assert.Equal(sent[..raw.Body.Length], raw.Body);

        // What an ordinary client makes of it: an error reading the body (the connection ended or was reset),
        // not a short body.
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync("web.example.com", "/"));
        Assert.IsAssignableFrom<IOException>(error.InnerException);
    }

    [Fact]
    public async Task LargeBody_8MiBWithLengthAndChunked_ArrivesIntact()
    {
        await StartAsync("web", async e =>
        {
            if (e.Request.Target == "/length")
            {
                await e.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {LargeBody.Length}\r\n\r\n");
                await e.SendAsync(LargeBody);
                return;
            }

            await e.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (var offset = 0; offset < LargeBody.Length; offset += 65_000)
            {
                var size = Math.Min(65_000, LargeBody.Length - offset);
                await e.SendAsync($"{size:x}\r\n");
                await e.SendAsync(LargeBody.AsMemory(offset, size));
                await e.SendAsync("\r\n");
            }

            await e.SendAsync("0\r\n\r\n");
        });

        using (var withLength = await GetAsync("web.example.com", "/length"))
        {
            Assert.Equal(LargeBody.Length, withLength.Content.Headers.ContentLength);
            Assert.Equal(SHA256.HashData(LargeBody), SHA256.HashData(await withLength.Content.ReadAsByteArrayAsync()));
        }

        using var chunked = await GetAsync("web.example.com", "/chunked");
        Assert.Equal(HttpStatusCode.OK, chunked.StatusCode);
        Assert.Equal(SHA256.HashData(LargeBody), SHA256.HashData(await chunked.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task HopByHopHeaders_DroppedBothWays_EndToEndHeadersKept()
    {
        var backend = await StartAsync("web", e => e.SendAsync(
            "HTTP/1.1 200 OK\r\n" +
            "Connection: keep-alive, X-Resp-Hop\r\n" +
            "Keep-Alive: timeout=5, max=100\r\n" +
            "X-Resp-Hop: 1\r\n" +
            "Set-Cookie: a=1; Path=/; HttpOnly\r\n" +
            "Set-Cookie: b=2, with a comma; Path=/\r\n" +
            "X-Resp-Plain: Kept  As Is\r\n" +
            "Content-Length: 2\r\n\r\nok"));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var response = await client.ExchangeAsync(Get(
            "web.example.com",
            "/",
            "Connection: X-Hop",
            "X-Hop: 1",
            "Keep-Alive: timeout=5",
            "Proxy-Connection: keep-alive",
            "TE: trailers",
            "Upgrade: example/1",
            "X-Multi: a",
            "X-Plain: Mixed Case,  inner  spaces",
            "X-Multi: b",
            "Accept: text/html, */*;q=0.8",
            "Cookie: c=3; d=4"));

        // RFC 9110 §7.6.1: the hop-by-hop fields, and those named in Connection (X-Hop here, X-Resp-Hop in
        // the response), are not forwarded. Known gap: when the client's Connection also says keep-alive or
        // close, Kestrel hands on only that token, so the other names in it are not seen (and go through).
        var seen = Assert.Single(backend.Requests);
        Assert.False(seen.Has("X-Hop"));
        Assert.False(response.Has("X-Resp-Hop"));
        Assert.False(seen.Has("Keep-Alive"));
        Assert.False(seen.Has("Proxy-Connection"));
        Assert.False(seen.Has("TE"));
        Assert.False(seen.Has("Upgrade"));
        Assert.DoesNotContain(seen.Elements("Connection"), t => t.Equals("X-Hop", StringComparison.OrdinalIgnoreCase) || t.Equals("upgrade", StringComparison.OrdinalIgnoreCase));

        // Two lines or one comma-joined line, the same list (RFC 9110 §5.3), in order.
        Assert.Equal(["a", "b"], seen.Elements("X-Multi"));
        Assert.Equal("Mixed Case,  inner  spaces", seen.Header("X-Plain"));
        Assert.Equal("text/html, */*;q=0.8", seen.Header("Accept"));
        Assert.Equal("c=3; d=4", seen.Header("Cookie"));

        Assert.Equal(200, response.Status);
        Assert.False(response.Has("Keep-Alive"));
        Assert.DoesNotContain(response.Elements("Connection"), t => t.Equals("X-Resp-Hop", StringComparison.OrdinalIgnoreCase));

        // Set-Cookie cannot be joined with commas (RFC 9110 §5.3): two lines, as sent.
        Assert.Equal(["a=1; Path=/; HttpOnly", "b=2, with a comma; Path=/"], response.Values("Set-Cookie"));
        Assert.Equal("Kept  As Is", response.Header("X-Resp-Plain"));
        Assert.Equal("ok", response.BodyText);
    }

    [Fact]
    public async Task EarlyHints_ThenFinalResponse_ClientGetsFinalResponse()
    {
        await StartAsync("web", e => e.SendAsync(
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n" +
            Response(200, "OK", "final body")));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        await client.SendAsync(Get("web.example.com", "/"));
        var response = await client.ReadResponseAsync();
        while (response.Status is >= 100 and < 200)
        {
            Assert.Equal(103, response.Status);
            response = await client.ReadResponseAsync();
        }

        Assert.Equal(200, response.Status);
        Assert.Equal("final body", response.BodyText);
        Assert.Equal("final body", (await client.ExchangeAsync(Get("web.example.com", "/"))).BodyText);
    }

    [Fact]
    public async Task PathAndQuery_EscapesAndDotSegments_ArriveAsExpected()
    {
        var backend = await StartAsync("web", e => e.SendAsync(Response(200, "OK", "ok")));
        // Both paths send the target byte for byte, as HAProxy does (ForwardingPolicy.TryGetTarget).
        (string Sent, string Arrives)[] targets =
        [
            ("/a%2Fb/c?x=1&y=%20z&x=2", "/a%2Fb/c?x=1&y=%20z&x=2"),
            ("/%7Euser/a+b/%C3%A9;p=1?q=a+b%2B&e=&&f", "/%7Euser/a+b/%C3%A9;p=1?q=a+b%2B&e=&&f"),
            ("/sp%20ace/%25/%3F?a=%2F&b=/&c=%7E", "/sp%20ace/%25/%3F?a=%2F&b=/&c=%7E"),
            ("//double//slash", "//double//slash"),
            ("/x?", "/x?"),

            // Dot segments are resolved before routing, so the backend sees the path the route was chosen by.
            ("/a/./b/../c", "/a/c"),
            ("/a/%2e%2E/c", "/c"),
        ];

        foreach (var (sent, _) in targets)
        {
            using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
            Assert.Equal(200, (await client.ExchangeAsync(Get("web.example.com", sent))).Status);
        }

        Assert.Equal(targets.Select(t => t.Arrives), backend.Requests.Select(r => r.Target));
    }

    [Fact]
    public async Task ForwardedHeaders_UntrustedClientsReplacedAndHostKept()
    {
        var backend = await StartAsync("web", e => e.SendAsync(Response(200, "OK", "ok")));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        await client.ExchangeAsync(Get("web.example.com:8080", "/chain", "X-Forwarded-For: 1.2.3.4"));
        await client.ExchangeAsync(Get("web.example.com", "/direct", "X-Forwarded-Proto: https", "X-Forwarded-Host: evil.example"));

        var chain = backend.Requests[0];
        Assert.Equal("web.example.com:8080", chain.Header("Host"));
        // No --trusted-proxies: the list a client sent is not believed (ForwardingPolicyEndToEndTests has the trusted case).
        Assert.Equal("127.0.0.1", chain.Header("X-Forwarded-For"));
        Assert.Equal("http", chain.Header("X-Forwarded-Proto"));
        Assert.Equal("web.example.com:8080", chain.Header("X-Forwarded-Host"));

        // What the client claims about the hop it made to us is replaced, not trusted.
        var direct = backend.Requests[1];
        Assert.Equal("web.example.com", direct.Header("Host"));
        Assert.Equal("127.0.0.1", direct.Header("X-Forwarded-For"));
        Assert.Equal("http", direct.Header("X-Forwarded-Proto"));
        Assert.Equal("web.example.com", direct.Header("X-Forwarded-Host"));
    }

    [Fact]
    public async Task RequestBody_ContentLengthAndChunked_BackendGetsExactBytes()
    {
        var backend = await StartAsync("web", e => e.SendAsync(Response(200, "OK", e.Request.Body.Length.ToString(CultureInfo.InvariantCulture))));
        var binary = Pattern(100_000, seed: 13);

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var withLength = await client.ExchangeAsync(
            Request("POST", "web.example.com", "/length", "Content-Type: application/octet-stream", $"Content-Length: {binary.Length}"),
            binary);
        var chunked = await client.ExchangeAsync(
            Request("POST", "web.example.com", "/chunked", "Transfer-Encoding: chunked"),
            [.. "5\r\nhello\r\n6;ext=v\r\n world\r\n"u8, .. Encoding.ASCII.GetBytes($"{binary.Length:x}\r\n"), .. binary, .. "\r\n0\r\n\r\n"u8]);

        Assert.Equal("100000", withLength.BodyText);
        Assert.Equal((11 + binary.Length).ToString(CultureInfo.InvariantCulture), chunked.BodyText);
        Assert.Equal(binary, backend.Requests[0].Body);
        Assert.Equal([.. "hello world"u8, .. binary], backend.Requests[1].Body);

        // RFC 9112 §6.1: never both framings on one message (the way to request smuggling).
        Assert.All(backend.Requests, r => Assert.False(r.Has("Content-Length") && r.Has("Transfer-Encoding")));
        Assert.Empty(backend.Errors);
    }

    [Fact]
    public async Task ClientAbortsSlowResponse_BackendConnectionClosedAndRouterKeepsServing()
    {
        var backendSawClose = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await StartAsync("web", async e =>
        {
            if (e.Request.Target != "/slow")
            {
                await e.SendAsync(Response(200, "OK", "quick"));
                return;
            }

            await e.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n");
            var closed = e.WaitPeerClosedAsync(TimeSpan.FromSeconds(30));
            var piece = Pattern(1024, seed: 1);
            try
            {
                // Dribbles until the router gives up on the connection.
                while (!closed.IsCompleted)
                {
                    await e.SendAsync(piece);
                    await Task.Delay(20, e.Stopping);
                }
            }
            catch (IOException)
            {
            }

            backendSawClose.TrySetResult();
            e.Close();
        });

        using (var client = await RawHttpClient.OpenAsync(Proxy.HttpPort))
        {
            await client.SendAsync(Get("web.example.com", "/slow"));
            await client.ReadRawAsync(atLeast: 8 * 1024);
            client.Abort();
        }

        await backendSawClose.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var response = await GetAsync("web.example.com", "/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("quick", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task BackendSilentBeforeAnswering_504AfterBackendTimeout()
    {
        var backendSawClose = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await StartAsync("web", async e => backendSawClose.TrySetResult(await e.WaitPeerClosedAsync(TimeSpan.FromSeconds(30))));

        var started = DateTime.UtcNow;
        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var response = await client.ExchangeAsync(Get("web.example.com", "/"));

        Assert.Equal(504, response.Status);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(2.5), "the 504 came before --backend-timeout");
        Assert.True(await backendSawClose.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task BackendSilentInTheBody_ClientConnectionCut()
    {
        await StartAsync("web", async e =>
        {
            await e.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst ten.");
            await e.WaitPeerClosedAsync(TimeSpan.FromSeconds(30));
        });

        // HttpClient reads the whole body before it returns: a cut body fails the request itself.
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<HttpRequestException>(async () =>
        {
            using var response = await GetAsync("web.example.com", "/");
            await response.Content.ReadAsByteArrayAsync();
        });

        Assert.IsType<IOException>(error.InnerException, exactMatch: false);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(2.5), "the body was cut before --backend-timeout");
    }

    [Fact]
    public async Task BackendSilent_ClientCancels_BackendConnectionClosed()
    {
        var requestArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var backendSawClose = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var backend = await StartAsync("web", async e =>
        {
            requestArrived.TrySetResult();
            backendSawClose.TrySetResult(await e.WaitPeerClosedAsync(TimeSpan.FromSeconds(30)));
        });

        using var request = new HttpRequestMessage(HttpMethod.Get, "/never");
        request.Headers.Host = "web.example.com";
        using var cancel = new CancellationTokenSource();
        var send = Proxy.Http.SendAsync(request, cancel.Token);

        // The client gives up once the request is at the backend (a fixed delay lost that race on a loaded machine).
        await requestArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);

        Assert.True(await backendSawClose.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("/never", Assert.Single(backend.Requests).Target);
    }

    private protected async Task<HttpResponseMessage> GetAsync(string host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        return await Proxy.Http.SendAsync(request);
    }

    private static string Get(string host, string target, params string[] headers) => Request("GET", host, target, headers);

    private static string Request(string method, string host, string target, params string[] headers) =>
        $"{method} {target} HTTP/1.1\r\nHost: {host}\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "\r\n";

    private protected static string Response(int status, string reason, string body) =>
        $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.Latin1.GetByteCount(body)}\r\n\r\n{body}";

    private static string Chunk(string data, string extension = "") =>
        $"{Encoding.Latin1.GetByteCount(data):x}{extension}\r\n{data}\r\n";

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>The forwarding contract on the default path: requests without a body go over the router's own connections.</summary>
public sealed class DirectForwardingEndToEndTests(SharedEtcdFixture fixture) : ForwardingEndToEndTests(fixture, direct: true)
{
    [Fact]
    public async Task HostLeavesRegistry_ItsKeptAliveConnectionsClosed()
    {
        var backend = await StartAsync("web", e => e.SendAsync(Response(200, "OK", "ok")));
        for (var i = 0; i < 3; i++)
        {
            using var response = await GetAsync("web.example.com", "/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // One kept-alive connection carried all three, and stays open while the host is registered.
        Assert.Equal(1, backend.Connections);
        Assert.Equal(0, backend.ClosedConnections);

        await Etcd.DeleteAsync($"{Prefix}/web/hosts/1");
        await Wait.UntilAsync(() => Task.FromResult(backend.ClosedConnections == 1), "the router to close its idle connection to the removed host");
    }

    [Fact]
    public async Task DirectPath_CountsRequestsRetriesAndErrorsInMetrics()
    {
        var answered = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        var web = await StartAsync("web", async e =>
        {
            // Answers the first request on a connection; reads the second and closes without a word (an idle
            // close racing it): the router finds a stale connection after the request went out.
            if (answered.TryAdd(e.Connection, true))
            {
                await e.SendAsync(Response(200, "OK", "ok"));
                return;
            }

            e.Close();
        });
        await StartAsync("bad", e => e.SendAsync("this is not HTTP\r\n\r\n"));

        for (var i = 0; i < 2; i++)
        {
            using var response = await GetAsync("web.example.com", "/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var response = await GetAsync("bad.example.com", "/"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }

        using var scrape = await Proxy.AdminGetAsync("/metrics");
        var metrics = (await scrape.Content.ReadAsStringAsync()).Split('\n');
        Assert.Contains("router_direct_requests_total 3", metrics);
        Assert.Contains("router_direct_stale_retries_total 1", metrics);
        Assert.Contains("router_direct_backend_errors_total{reason=\"protocol\"} 1", metrics);
        Assert.Contains("router_direct_backend_errors_total{reason=\"timeout\"} 0", metrics);
        Assert.Equal(2, web.Connections);
        Assert.Contains(metrics, l => l.StartsWith("router_backend_idle_connections{service=\"web\"", StringComparison.Ordinal));
    }
}

/// <summary>The same contract with <c>--http-forwarder yarp</c>: every request through YARP.</summary>
public sealed class YarpForwardingEndToEndTests(SharedEtcdFixture fixture) : ForwardingEndToEndTests(fixture, direct: false);

/// <summary>The forwarding contract on the default path with the HTTP port on the router's own event loops (<c>--http-transport epoll</c>).</summary>
public sealed class LoopTransportForwardingEndToEndTests(SharedEtcdFixture fixture) : ForwardingEndToEndTests(fixture, direct: true, more: ["--http-transport", "epoll"]);
