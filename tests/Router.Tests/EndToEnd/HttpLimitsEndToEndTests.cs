using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// The client-side HTTP limits on the shared port: request body size, idle keep-alive, request-head time,
/// concurrent connections; and a host_port HTTP connection of an outsider when its service turns private.
/// Each test starts its own router with the option under test.
/// </summary>
public sealed class HttpLimitsEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    // Just over Kestrel's default limit of 30,000,000 bytes, which used to answer 413.
    private const int UploadSize = 31 * 1000 * 1000;

    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task Upload31MB_NoLimitByDefault_ChunkedAndWithContentLengthGoThrough()
    {
        await using var backend = await UploadBackend.StartAsync();
        await RegisterAsync("up", backend.Address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix);
        await router.WaitStatusAsync("up", "/", HttpStatusCode.OK);

        var (lengthStatus, lengthBody) = await UploadAsync(router, chunked: false);
        var (chunkedStatus, chunkedBody) = await UploadAsync(router, chunked: true);

        Assert.Equal(HttpStatusCode.OK, lengthStatus);
        Assert.Equal(UploadSize.ToString(CultureInfo.InvariantCulture), lengthBody);
        Assert.Equal(HttpStatusCode.OK, chunkedStatus);
        Assert.Equal(UploadSize.ToString(CultureInfo.InvariantCulture), chunkedBody);
    }

    [Fact]
    public async Task Upload_OverMaxRequestBody_413_SmallerOneGoesThrough()
    {
        await using var backend = await UploadBackend.StartAsync();
        await RegisterAsync("up", backend.Address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--max-request-body", "1000000"]);
        await router.WaitStatusAsync("up", "/", HttpStatusCode.OK);

        var lengthStatus = await RawUploadStatusAsync(router.HttpPort, chunked: false);
        var chunkedStatus = await RawUploadStatusAsync(router.HttpPort, chunked: true);
        var (smallStatus, smallBody) = await UploadAsync(router, chunked: true, size: 999_000);

        Assert.Equal(413, lengthStatus);
        Assert.Equal(413, chunkedStatus);
        Assert.Equal(HttpStatusCode.OK, smallStatus);
        Assert.Equal("999000", smallBody);
    }

    [Fact]
    public async Task ClientIdleTimeout_KeptAliveConnectionClosedAfterIt()
    {
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--client-idle-timeout", "1"]);
        using var client = await TcpTestClient.ConnectAsync(router.HttpPort);
        var reader = new RawHttpReader(PipeReader.Create(new NetworkStream(client.Socket, ownsSocket: false)));

        await client.Socket.SendAsync(Encoding.ASCII.GetBytes("GET /_router/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var response = await reader.ReadResponseAsync(toHead: false, timeout.Token);

        // A kept-alive answer, then silence from the client: the router closes (ReadToEnd returns when it does).
        Assert.Equal(200, response!.Status);
        Assert.Empty(await client.ReadToEndAsync());
    }

    [Fact]
    public async Task RequestHeadTimeout_UnfinishedHead_408AndClosed()
    {
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--request-head-timeout", "1"]);
        using var client = await TcpTestClient.ConnectAsync(router.HttpPort);

        // Half a head, and then nothing (a slowloris client).
        await client.Socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: web\r\nX-Slow: "));

        var answer = Encoding.ASCII.GetString(await client.ReadToEndAsync());
        Assert.StartsWith("HTTP/1.1 408", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxHttpConnections_ExtraConnectionClosed_AdminStillAnswers_PlaceFreedIsReused()
    {
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--max-http-connections", "2"]);
        var first = await OpenServedAsync(router.HttpPort);
        using var second = await OpenServedAsync(router.HttpPort);

        // The third is accepted by the kernel and closed by the router at once, even with a request sent.
        using (var third = await TcpTestClient.ConnectAsync(router.HttpPort))
        {
            await SendHealthzAsync(third);
            Assert.Empty(await third.ReadToEndAsync());
        }

        // The admin port counts its own connections.
        Assert.Equal(HttpStatusCode.OK, (await router.AdminGetAsync("/healthz")).StatusCode);

        first.Dispose();
        await Wait.UntilAsync(async () =>
        {
            using var next = await TcpTestClient.ConnectAsync(router.HttpPort);
            await SendHealthzAsync(next);
            return Encoding.ASCII.GetString(await next.ReadToEndAsync()).StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
        }, "a freed place to serve a new connection");
    }

    [Fact]
    public async Task MaxHttpConnections_OnTheLoops_ConnectionsThatSentNothingCount_PlainGetOnOneMoreClosedAndLogged()
    {
        await using var web = await TestBackend.StartAsync("web-1");
        await RegisterAsync("web", web.Address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--max-http-connections", "2", "--http-transport", "epoll"]);
        await router.WaitRoutedAsync("web.example.com");
        const string plainGet = "GET / HTTP/1.1\r\nHost: web.example.com\r\n\r\n";

        // Two connections that have sent nothing yet hold the two places: the loops serve plain requests before
        // Kestrel sees a connection, so they are counted from the accept on, not from Kestrel's.
        var first = await TcpTestClient.ConnectAsync(router.HttpPort);
        using var second = await TcpTestClient.ConnectAsync(router.HttpPort);
        using (var third = await TcpTestClient.ConnectAsync(router.HttpPort))
        {
            await third.Socket.SendAsync(Encoding.ASCII.GetBytes(plainGet));
            Assert.Empty(await third.ReadToEndAsync());
        }

        await router.Process.WaitForOutputAsync("connections open, the limit (--max-http-connections)");

        // A place freed serves a plain GET again.
        first.Dispose();
        await Wait.UntilAsync(async () =>
        {
            using var next = await TcpTestClient.ConnectAsync(router.HttpPort);
            await next.Socket.SendAsync(Encoding.ASCII.GetBytes(plainGet.Replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n", StringComparison.Ordinal)));
            return Encoding.ASCII.GetString(await next.ReadToEndAsync()).StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
        }, "a freed place to serve a plain GET");
    }

    [Fact]
    public async Task HostPortHttp_ServiceTurnsPrivate_OutsiderGets404AndConnectionClosed()
    {
        await using var web = await TestBackend.StartAsync("web-1");
        var port = Ports.FreeTcp();
        await RegisterAsync("web", web.Address);
        await _etcd.PutAsync($"{_prefix}/web/host_port", port.ToString(CultureInfo.InvariantCulture));
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--internal-networks", "10.0.0.0/8"]);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await Wait.UntilAsync(async () => (await http.GetAsync("/")).StatusCode == HttpStatusCode.OK, "the host_port to serve");
        using var client = await TcpTestClient.ConnectAsync(port);
        var reader = new RawHttpReader(PipeReader.Create(new NetworkStream(client.Socket, ownsSocket: false)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.Equal(200, (await RoundTripAsync(client, reader, timeout.Token)).Status);

        await _etcd.PutAsync($"{_prefix}/web/private", "");
        await Wait.UntilAsync(async () => (await http.GetAsync("/")).StatusCode == HttpStatusCode.NotFound, "the service to be private");

        // The kept-alive connection's next request: 404 with "Connection: close", then the router closes it.
        var refused = await RoundTripAsync(client, reader, timeout.Token);
        Assert.Equal(404, refused.Status);
        Assert.Contains("close", refused.Header("Connection") ?? "", StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await client.ReadToEndAsync());
    }

    private static async Task<RawHttpMessage> RoundTripAsync(TcpTestClient client, RawHttpReader reader, CancellationToken cancellationToken)
    {
        await client.Socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: anything\r\n\r\n"), cancellationToken);
        return (await reader.ReadResponseAsync(toHead: false, cancellationToken))!;
    }

    private static async Task SendHealthzAsync(TcpTestClient client) =>
        await client.Socket.SendAsync(Encoding.ASCII.GetBytes("GET /_router/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));

    /// <summary>A connection that got one kept-alive answer, so the router counts it.</summary>
    private static async Task<TcpTestClient> OpenServedAsync(int port)
    {
        var client = await TcpTestClient.ConnectAsync(port);
        var reader = new RawHttpReader(PipeReader.Create(new NetworkStream(client.Socket, ownsSocket: false)));
        await client.Socket.SendAsync(Encoding.ASCII.GetBytes("GET /_router/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(200, (await reader.ReadResponseAsync(toHead: false, timeout.Token))!.Status);
        return client;
    }

    private static async Task<(HttpStatusCode Status, string Body)> UploadAsync(RouterProcess router, bool chunked, int size = UploadSize)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/upload");
        request.Headers.Host = "up";
        var body = new byte[size];
        if (chunked)
        {
            // A stream of unknown length: HttpClient sends it chunked.
            request.Content = new StreamContent(new UnknownLengthStream(body));
            request.Headers.TransferEncodingChunked = true;
        }
        else
        {
            request.Content = new ByteArrayContent(body);
        }

        using var response = await router.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Sends a 31 MB upload on a raw connection while reading the answer at the same time: a router that refuses
    /// the body answers before it has all of it and closes, which a client that only reads after sending would
    /// see as a broken pipe. Returns the status the router answered.
    /// </summary>
    private static async Task<int> RawUploadStatusAsync(int port, bool chunked)
    {
        using var client = await TcpTestClient.ConnectAsync(port);
        var reader = new RawHttpReader(PipeReader.Create(new NetworkStream(client.Socket, ownsSocket: false)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var framing = chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {UploadSize}";
        await client.Socket.SendAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: up\r\n{framing}\r\n\r\n"), timeout.Token);
        var answer = reader.ReadResponseAsync(toHead: true, timeout.Token);
        var block = new byte[64 * 1024];
        var chunkHead = Encoding.ASCII.GetBytes($"{block.Length:x}\r\n");
        try
        {
            for (var sent = 0; sent < UploadSize && !answer.IsCompleted; sent += block.Length)
            {
                if (chunked)
                {
                    await client.Socket.SendAsync(chunkHead, timeout.Token);
                }

                await client.Socket.SendAsync(block, timeout.Token);
                if (chunked)
                {
                    await client.Socket.SendAsync("\r\n"u8.ToArray(), timeout.Token);
                }
            }
        }
        catch (SocketException)
        {
            // The router stopped reading after it answered: what it answered is the result.
        }

        return (await answer)!.Status;
    }

    private async Task RegisterAsync(string service, string address)
    {
        await _etcd.PutAsync($"{_prefix}/{service}/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/{service}/hosts/1", address);
    }

    /// <summary>A memory stream that does not tell its length, so HttpClient cannot send Content-Length.</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    /// <summary>A real backend that takes bodies of any size and answers with the number of bytes it read.</summary>
    private sealed class UploadBackend : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private UploadBackend(WebApplication app, int port)
        {
            _app = app;
            Address = $"127.0.0.1:{port}";
        }

        public string Address { get; }

        public static async Task<UploadBackend> StartAsync()
        {
            var port = Ports.FreeTcp();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k =>
            {
                k.Limits.MaxRequestBodySize = null;
                k.Listen(IPAddress.Loopback, port);
            });
            var app = builder.Build();
            app.Run(async context =>
            {
                var buffer = new byte[64 * 1024];
                long total = 0;
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    total += read;
                }

                await context.Response.WriteAsync(total.ToString(CultureInfo.InvariantCulture), context.RequestAborted);
            });
            await app.StartAsync();
            return new UploadBackend(app, port);
        }

        public async ValueTask DisposeAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
            await _app.DisposeAsync();
        }
    }
}
