using System.Net;
using System.Net.Sockets;
using System.Text;
using Router.Testing;

namespace Router.Tests;

/// <summary>Bad input against the running router: random registry data in bulk, and broken HTTP clients.</summary>
// Alone: writes random registry data to etcd in bulk, which would slow every other class's etcd reads and watches.
[Collection(AloneGroup.Name)]
public sealed class FuzzEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    private TestBackend _web = null!;

    protected override async Task<RouterProcess> StartProxyAsync()
    {
        _web = Own(await TestBackend.StartAsync("web-1"));
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", _web.Address);
        var router = await RouterProcess.StartAsync(Etcd.Url, Prefix);
        await router.WaitRoutedAsync("web.example.com");
        return router;
    }

    [Fact]
    public async Task RegistryFuzz_RandomKeysAndValuesInBulk_RouterKeepsRoutingTheGoodService()
    {
        var random = new Random(20261125);
        var puts = new List<Task>();
        string[] leaves = ["scheme", "host_port", "private", "strip_path", "hosts/1", "hosts/x", "odd", ""];
        for (var i = 0; i < 3000; i++)
        {
            var name = random.Next(4) switch
            {
                0 => $"svc{i}",
                1 => RandomText(random, 1 + random.Next(70)),
                2 => "web",
                _ => $"s{random.Next(50)}",
            };
            var leaf = leaves[random.Next(leaves.Length)];
            var value = random.Next(5) switch
            {
                0 => RandomBytes(random, random.Next(40)),
                1 => Encoding.UTF8.GetBytes(new[] { "http", "tcp", "https", "gopher", "" }[random.Next(5)]),
                2 => Encoding.UTF8.GetBytes($"127.0.0.1:{random.Next(-10, 70000)}"),
                3 => RandomBytes(random, 2000 + random.Next(100_000)),
                _ => Encoding.UTF8.GetBytes(RandomText(random, random.Next(30))),
            };
            if (name == "web" && (leaf == "scheme" || leaf == "hosts/1"))
            {
                continue;
            }

            puts.Add(Etcd.PutAsync($"{Prefix}/{name}/{leaf}", value));
            if (puts.Count == 64)
            {
                await Task.WhenAll(puts);
                puts.Clear();
            }
        }

        await Task.WhenAll(puts);
        var revision = await Etcd.RevisionAsync();
        await Wait.UntilAsync(async () => (await Proxy.StatusAsync()).GetProperty("etcd").GetProperty("revision").GetInt64() >= revision, "the router to apply every put", TimeSpan.FromSeconds(60));

        Assert.False(Proxy.Process.HasExited, Proxy.Process.Output);
        var (status, echo) = await Proxy.EchoAsync("web.example.com", "/");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("web-1", echo!.Name);
        var problems = (await Proxy.StatusAsync()).GetProperty("problems");
        Assert.True(problems.GetArrayLength() > 100);
        using var health = await Proxy.AdminGetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n")]
    [InlineData("GET\r\n\r\n")]
    [InlineData("GET / HTTP/9.9\r\nHost: web\r\n\r\n")]
    [InlineData("GET /web HTTP/1.1\r\nHost: \u0001\u0002\r\n\r\n")]
    [InlineData("GET /web HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")]
    [InlineData("GET /web HTTP/1.1\r\nContent-Length: -5\r\nHost: web\r\n\r\n")]
    [InlineData("GET /web HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nHost: web\r\n\r\nzz\r\n")]
    [InlineData("\0\0\0\0\0\0\0\0")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    public async Task MalformedRequest_ClearErrorAndRouterUnaffected(string raw)
    {
        var answer = await SendRawAsync(Encoding.Latin1.GetBytes(raw));

        // A clear refusal: a 4xx, 505 for an unknown version, an HTTP/2 GOAWAY frame (type 7 in the 4th
        // byte, RFC 9113 section 4.1) for the HTTP/2 preface on this HTTP/1.1 port, or the connection closed.
        var goAway = answer.Length >= 9 && answer[3] == '\u0007';
        Assert.True(
            answer.Length == 0 || goAway || answer.StartsWith("HTTP/1.1 4", StringComparison.Ordinal) || answer.StartsWith("HTTP/1.1 505", StringComparison.Ordinal),
            Convert.ToHexString(System.Text.Encoding.Latin1.GetBytes(answer)));
        await AssertStillRoutingAsync();
    }

    [Fact]
    public async Task HugeHeaders_431AndRouterUnaffected()
    {
        var raw = $"GET /web HTTP/1.1\r\nHost: web\r\nX-Big: {new string('a', 200_000)}\r\n\r\n";

        var answer = await SendRawAsync(Encoding.ASCII.GetBytes(raw));

        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 431", StringComparison.Ordinal), answer);
        await AssertStillRoutingAsync();
    }

    [Fact]
    public async Task RandomBytesFromManyClients_RouterUnaffected()
    {
        var random = new Random(7);
        var clients = Enumerable.Range(0, 50).Select(async _ =>
        {
            var bytes = RandomBytes(random, 1 + random.Next(8000));
            await SendRawAsync(bytes);
        });
        await Task.WhenAll(clients);

        await AssertStillRoutingAsync();
    }

    [Fact]
    public async Task ClientDisconnectsMidRequest_RouterUnaffected()
    {
        for (var i = 0; i < 20; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, Proxy.HttpPort);
            await socket.SendAsync(Encoding.ASCII.GetBytes("POST /web/slow?ms=200 HTTP/1.1\r\nHost: web\r\nContent-Length: 100000\r\n\r\npartial"));
            socket.LingerState = new LingerOption(true, 0);
        }

        await AssertStillRoutingAsync();
    }

    private async Task AssertStillRoutingAsync()
    {
        Assert.False(Proxy.Process.HasExited, Proxy.Process.Output);
        var (status, echo) = await Proxy.EchoAsync("web.example.com", "/");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("web-1", echo!.Name);
    }

    private async Task<string> SendRawAsync(byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, Proxy.HttpPort);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await socket.SendAsync(request, timeout.Token);
            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[4096];
            var read = await socket.ReceiveAsync(buffer, timeout.Token);
            return Encoding.Latin1.GetString(buffer, 0, read);
        }
        catch (SocketException)
        {
            // The router may reset a connection that sent garbage: a clear refusal, not a failure.
            return "";
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string RandomText(Random random, int length)
    {
        const string Alphabet = "abcXYZ019-_.~ /\\:@[]\u00e9\u4e2d";
        return string.Concat(Enumerable.Range(0, length).Select(_ => Alphabet[random.Next(Alphabet.Length)]));
    }
}
