using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// The connection-level path (issue 22): plain GET and HEAD requests are taken below Kestrel's HTTP layer,
/// everything else goes on through Kestrel from the first byte that is not plain. Counted by
/// <c>router_direct_connection_level_requests_total</c>, so each test also shows which side took what.
/// </summary>
public abstract class ConnectionLevelEndToEndTests(SharedEtcdFixture fixture, params string[] more) : RouterScenario(fixture, ["--client-idle-timeout", "2", .. more])
{

    private const string Taken = "router_direct_connection_level_requests_total";

    [Fact]
    public async Task PlainGet_BackendGetsTheClientsHeadersAndTheForwardingOnes()
    {
        var backend = await StartAsync("web", e => e.SendAsync(Ok(e.Request.Target)));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var response = await client.ExchangeAsync("GET /a/b?c=1&d=%41 HTTP/1.1\r\nHost: web.example.com:8080\r\nUser-Agent: test/1\r\nx-lower-case:  spaced value \t\r\nAccept: */*\r\nConnection: keep-alive\r\nX-Twice: 1\r\nX-Twice: 2\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("/a/b?c=1&d=%41", response.BodyText);
        var request = Assert.Single(backend.Requests);
        Assert.Equal("GET /a/b?c=1&d=%41 HTTP/1.1", request.StartLine);
        Assert.Equal("web.example.com:8080", request.Header("Host"));
        Assert.Equal("test/1", request.Header("User-Agent"));
        Assert.Equal("spaced value", request.Header("x-lower-case"));
        Assert.Equal(["1", "2"], request.Values("X-Twice"));
        Assert.False(request.Has("Connection"));
        Assert.Equal("127.0.0.1", request.Header("X-Forwarded-For"));
        Assert.Equal("http", request.Header("X-Forwarded-Proto"));
        Assert.Equal("web.example.com:8080", request.Header("X-Forwarded-Host"));
        Assert.Equal(1, await CounterAsync(Taken));
    }

    [Fact]
    public async Task PathRoute_FirstSegmentStripped_AsOnTheOtherPaths()
    {
        var backend = await StartAsync("web", e => e.SendAsync(Ok(e.Request.Target)));
        await Etcd.PutAsync($"{Prefix}/web/strip_path", "true");
        await Wait.UntilAsync(async () => (await Exchange("GET /web/x?q HTTP/1.1\r\nHost: example.com\r\n\r\n")).BodyText == "/x?q", "strip_path to apply");

        Assert.Equal("/?q", (await Exchange("GET /web?q HTTP/1.1\r\nHost: example.com\r\n\r\n")).BodyText);
        Assert.Equal("/", (await Exchange("GET /web HTTP/1.1\r\nHost: example.com\r\n\r\n")).BodyText);
        Assert.Equal("/", (await Exchange("GET /web/ HTTP/1.1\r\nHost: example.com\r\n\r\n")).BodyText);
        Assert.True(await CounterAsync(Taken) >= 4);
        Assert.All(backend.Requests, r => Assert.Equal("example.com", r.Header("Host")));
    }

    [Fact]
    public async Task RequestThatIsNotPlain_KestrelTakesTheRestOfTheConnection()
    {
        var backend = await StartAsync("web", e => e.SendAsync(Ok($"{e.Request.Method} {e.Request.Target} {e.Request.BodyText}")));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var first = await client.ExchangeAsync("GET /1 HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
        var post = await client.ExchangeAsync("POST /2 HTTP/1.1\r\nHost: web.example.com\r\nContent-Length: 4\r\n\r\n", Encoding.ASCII.GetBytes("body"));
        var third = await client.ExchangeAsync("GET /3 HTTP/1.1\r\nHost: web.example.com\r\n\r\n");

        Assert.Equal(["GET /1 ", "POST /2 body", "GET /3 "], new[] { first.BodyText, post.BodyText, third.BodyText });
        Assert.Equal(3, backend.Requests.Count);

        // Only the first was taken at the connection; the third went through Kestrel to the direct path.
        Assert.Equal(1, await CounterAsync(Taken));
        Assert.Equal(2, await CounterAsync("router_direct_requests_total"));
    }

    [Fact]
    public async Task PipelinedRequests_AnsweredInOrder()
    {
        await StartAsync("web", e => e.SendAsync(Ok(e.Request.Target)));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        await client.SendAsync("GET /one HTTP/1.1\r\nHost: web.example.com\r\n\r\nHEAD /two HTTP/1.1\r\nHost: web.example.com\r\n\r\nGET /three HTTP/1.1\r\nHost: web.example.com\r\n\r\n");

        Assert.Equal("/one", (await client.ReadResponseAsync()).BodyText);
        var head = await client.ReadResponseAsync(toHead: true);
        Assert.Equal("4", head.Header("Content-Length"));
        Assert.Empty(head.Body);
        Assert.Equal("/three", (await client.ReadResponseAsync()).BodyText);
        Assert.Equal(3, await CounterAsync(Taken));
    }

    [Fact]
    public async Task ChunkedAndCloseDelimitedBodies_ReachTheClientWholeAndChunked()
    {
        await StartAsync("web", async e =>
        {
            if (e.Request.Target == "/chunked")
            {
                await e.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
                await e.SendAsync("1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
            }
            else
            {
                await e.SendAsync("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ");
                await e.SendAsync("close");
                e.Close();
            }
        });

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var chunked = await client.ExchangeAsync("GET /chunked HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
        var untilClose = await client.ExchangeAsync("GET /close HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
        var again = await client.ExchangeAsync("GET /chunked HTTP/1.1\r\nHost: web.example.com\r\n\r\n");

        Assert.Equal("hello world", chunked.BodyText);
        Assert.Equal("chunked", chunked.Header("Transfer-Encoding"));
        Assert.False(chunked.Has("X-Trailer"));
        Assert.Equal("until close", untilClose.BodyText);
        Assert.Equal("chunked", untilClose.Header("Transfer-Encoding"));
        Assert.Equal("hello world", again.BodyText);
        Assert.Equal(3, await CounterAsync(Taken));
    }

    [Fact]
    public async Task DateHeader_AddedWhenTheBackendSentNone_KeptWhenItDid()
    {
        await StartAsync("web", e => e.SendAsync(e.Request.Target == "/dated"
            ? "HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\nContent-Length: 0\r\n\r\n"
            : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var dated = await client.ExchangeAsync("GET /dated HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
        var undated = await client.ExchangeAsync("GET /undated HTTP/1.1\r\nHost: web.example.com\r\n\r\n");

        Assert.Equal(["Tue, 01 Dec 2026 10:00:00 GMT"], dated.Values("Date"));
        var date = Assert.Single(undated.Values("Date"));
        Assert.True(DateTimeOffset.TryParseExact(date, "r", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _), date);
    }

    [Fact]
    public async Task ConnectionClose_AnsweredWithCloseAndTheConnectionEnds()
    {
        await StartAsync("web", e => e.SendAsync(Ok("bye")));

        using var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: web.example.com\r\nConnection: close\r\n\r\n"));
        var all = await ReadToEndAsync(socket);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", all, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", all, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nbye", all, StringComparison.Ordinal);
        Assert.Equal(1, await CounterAsync(Taken));
    }

    [Fact]
    public async Task IdleKeptAliveClient_ClosedAfterClientIdleTimeout()
    {
        await StartAsync("web", e => e.SendAsync(Ok("x")));

        using var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: web.example.com\r\n\r\n"));

        // The response, then the close when --client-idle-timeout (2 s) has passed with no request.
        var all = await ReadToEndAsync(socket);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Connection: close", all, StringComparison.Ordinal);
        Assert.Equal(1, await CounterAsync(Taken));
    }

    [Fact]
    public async Task HeadSplitOverTwoWrites_AnsweredThroughKestrel()
    {
        await StartAsync("web", e => e.SendAsync(Ok(e.Request.Target)));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        await client.SendAsync("GET /split HTTP/1.1\r\nHo");

        // The stimulus: the router reads the first part alone (it reads as bytes arrive).
        await Task.Delay(1000);
        await client.SendAsync("st: web.example.com\r\n\r\n");
        var response = await client.ReadResponseAsync();

        Assert.Equal("/split", response.BodyText);
        Assert.Equal(0, await CounterAsync(Taken));
        Assert.Equal(1, await CounterAsync("router_direct_requests_total"));
    }

    [Fact]
    public async Task UnknownServiceHealthCheckAndBadHead_AnsweredByKestrelAsBefore()
    {
        await StartAsync("web", e => e.SendAsync(Ok("x")));

        Assert.Equal(404, (await Exchange("GET / HTTP/1.1\r\nHost: nothing.example.com\r\n\r\n")).Status);
        var health = await Exchange("GET /_router/healthz HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n");
        Assert.Equal((200, "ok\n"), (health.Status, health.BodyText));
        Assert.Equal(400, (await Exchange("GET / HTTP/1.1\r\nHost: web.example.com\r\nHost: other.example.com\r\n\r\n")).Status);
        Assert.Equal(400, (await Exchange("GET / HTTP/1.1\r\nHost: web.example.com\r\nBad Name: x\r\n\r\n")).Status);
        Assert.Equal(400, (await Exchange("GET / HTTP/1.1\r\nHost: web.example.com\r\nX-A: 1\r\n folded\r\n\r\n")).Status);
        Assert.Equal(0, await CounterAsync(Taken));
    }

    [Fact]
    public async Task NoHostAnswers_503WithItsLine()
    {
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", $"127.0.0.1:{Ports.FreeTcp()}");
        await Wait.UntilAsync(async () => (await Exchange("GET / HTTP/1.1\r\nHost: web.example.com\r\n\r\n")).Status != 404, "web to be routed");

        var response = await Exchange("GET / HTTP/1.1\r\nHost: web.example.com\r\n\r\n");

        Assert.Equal(503, response.Status);
        Assert.Equal("no usable host for this service\n", response.BodyText);
        Assert.True(await CounterAsync(Taken) >= 1);
    }

    [Fact]
    public async Task ClientLeavesWhileTheBackendThinks_BackendConnectionClosedAndCountedAsTheClients()
    {
        var backendSawClose = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var backend = await StartAsync("web", async e => backendSawClose.TrySetResult(await e.WaitPeerClosedAsync(TimeSpan.FromSeconds(20))));

        using (var socket = await ConnectAsync())
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /slow HTTP/1.1\r\nHost: web.example.com\r\n\r\n"));

            // The client leaves once the backend has the request (earlier, the router would not even connect).
            await Wait.UntilAsync(() => backend.Requests.Count == 1, "the request to reach the backend");
        }

        Assert.True(await backendSawClose.Task.WaitAsync(TimeSpan.FromSeconds(30)), "the router kept the backend connection open after its client left");
        Assert.Equal(1, await CounterAsync(Taken));
        await Wait.UntilAsync(async () => await CounterAsync("router_direct_client_aborts_total") == 1, "the client's abort to be counted");
    }

    [Fact]
    public async Task ManyClientsAtOnce_EachGetsExactlyItsOwnAnswers()
    {
        // Every client's requests and answers cross the same loops and the same pooled backend connections at once:
        // an answer handed to the wrong client, or out of order, shows as a wrong body.
        await StartAsync("web", e => e.SendAsync(Ok(e.Request.Target)));

        await Task.WhenAll(Enumerable.Range(0, 48).Select(client => Task.Run(async () =>
        {
            using var connection = await RawHttpClient.OpenAsync(Proxy.HttpPort);
            for (var request = 0; request < 25; request++)
            {
                var target = $"/c{client}/r{request}";
                var response = await connection.ExchangeAsync($"GET {target} HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
                Assert.Equal(200, response.Status);
                Assert.Equal(target, response.BodyText);
            }
        })));

        Assert.Equal(48 * 25, await CounterAsync(Taken));
    }

    [Fact]
    public async Task HeadsOfEverySize_ManyClientsAtOnce_EachGetsItsOwnHeadsBackWhole()
    {
        // The request head, its host and path as chars, and the staged response head live in buffers rented from
        // shared pools for one request and given back after it. Requests and answers from a few bytes to 4 KB, on
        // many connections of the same loops at once: a buffer read after it went back, or lent to two connections,
        // shows as a head or body that is not the one this request sent.
        await StartAsync("web", e =>
        {
            var pad = e.Request.Header("X-Pad") ?? "";
            var echo = $"{e.Request.Target} {pad.Length} {Convert.ToHexString(SHA256.HashData(Encoding.Latin1.GetBytes(pad)))}";
            return e.SendAsync($"HTTP/1.1 200 OK\r\nX-Echo: {echo}\r\nX-Pad-Back: {pad}\r\nContent-Length: {echo.Length}\r\n\r\n{echo}");
        });

        await Task.WhenAll(Enumerable.Range(0, 24).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            using var connection = await RawHttpClient.OpenAsync(Proxy.HttpPort);
            for (var request = 0; request < 20; request++)
            {
                // Paths past the 256 chars first rented for host and path, pads past the 1 KB head and 512 B response head
                // (and within the 4 KB that Kestrel's socket transport reads at once: a longer head goes on to Kestrel there).
                var target = $"/c{client}/r{request}/" + new string((char)('a' + request % 26), random.Next(0, 2) == 0 ? 3 : 400);
                var pad = new string((char)('A' + client % 26), random.Next(1, 3500));
                var response = await connection.ExchangeAsync($"GET {target} HTTP/1.1\r\nHost: web.example.com\r\nX-Pad: {pad}\r\n\r\n");

                var echo = $"{target} {pad.Length} {Convert.ToHexString(SHA256.HashData(Encoding.Latin1.GetBytes(pad)))}";
                Assert.Equal(200, response.Status);
                Assert.Equal(echo, response.BodyText);
                Assert.Equal(echo, response.Header("X-Echo"));
                Assert.Equal(pad, response.Header("X-Pad-Back") ?? "");
            }
        })));

        Assert.Equal(24 * 20, await CounterAsync(Taken));
    }

    [Fact]
    public async Task LargeAnswers_SeveralClientsAtOnce_EveryByteInOrder()
    {
        // 3 MiB per answer: far more than the socket and the router's buffers hold, so sends wait for the client.
        var body = new byte[3 * 1024 * 1024];
        new Random(7).NextBytes(body);
        await StartAsync("web", async e =>
        {
            await e.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\n\r\n");
            await e.SendAsync(body);
        });

        await Task.WhenAll(Enumerable.Range(0, 6).Select(client => Task.Run(async () =>
        {
            using var connection = await RawHttpClient.OpenAsync(Proxy.HttpPort);
            for (var request = 0; request < 2; request++)
            {
                var response = await connection.ExchangeAsync($"GET /big/{client}/{request} HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
                Assert.Equal(200, response.Status);
                Assert.True(body.AsSpan().SequenceEqual(response.Body), $"client {client}, request {request}: the body differs");
            }
        })));
    }

    [Fact]
    public async Task LargeUpload_ThenPlainGet_BodyIntactAndConnectionGoesOn()
    {
        // 16 MiB sent as fast as the client can: far more than the router may hold unread (1 MiB), so receiving
        // pauses and resumes while Kestrel hands the body on.
        var body = new byte[16 * 1024 * 1024];
        new Random(11).NextBytes(body);
        await StartAsync("web", e => e.SendAsync(Ok(e.Request.Method == "POST" ? Convert.ToHexString(SHA256.HashData(e.Request.Body)) : e.Request.Target)));

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        var upload = await client.ExchangeAsync($"POST /up HTTP/1.1\r\nHost: web.example.com\r\nContent-Length: {body.Length}\r\n\r\n", body);
        var after = await client.ExchangeAsync("GET /after HTTP/1.1\r\nHost: web.example.com\r\n\r\n");

        Assert.Equal(200, upload.Status);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(body)), upload.BodyText);
        Assert.Equal(200, after.Status);
        Assert.Equal("/after", after.BodyText);
    }

    private static string Ok(string body) => $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {Encoding.Latin1.GetByteCount(body)}\r\n\r\n{body}";

    private async Task<RawHttpMessage> Exchange(string head)
    {
        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        return await client.ExchangeAsync(head);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Proxy.HttpPort));
        return socket;
    }

    /// <summary>Everything the router sends until it closes the connection (within 20 s).</summary>
    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var all = new List<byte>();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            all.AddRange(buffer.AsSpan(0, read));
        }

        return Encoding.Latin1.GetString([.. all]);
    }

    private async Task<long> CounterAsync(string name)
    {
        using var scrape = await Proxy.AdminGetAsync("/metrics");
        var line = (await scrape.Content.ReadAsStringAsync()).Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return long.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The connection-level path with the HTTP port on the router's own event loops (<c>--http-transport epoll</c>).</summary>
public sealed class LoopTransportConnectionLevelEndToEndTests(SharedEtcdFixture fixture) : ConnectionLevelEndToEndTests(fixture, "--http-transport", "epoll");

/// <summary>The connection-level path with the HTTP port on Kestrel's socket transport (<c>--http-transport sockets</c>).</summary>
public sealed class SocketTransportConnectionLevelEndToEndTests(SharedEtcdFixture fixture) : ConnectionLevelEndToEndTests(fixture, "--http-transport", "sockets");
