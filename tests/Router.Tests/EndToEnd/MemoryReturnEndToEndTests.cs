using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// Memory goes back to the system once a burst has passed (issue 14 §2): 3,000 kept-alive HTTP connections
/// through the real router, each after one request, then all closed. The router must log the return and its
/// anonymous memory must fall back below what it held during the burst.
/// </summary>
// Alone: measures the router's resident memory, which other tests' load on the machine would blur.
[Collection(AloneGroup.Name)]
public sealed class MemoryReturnEndToEndTests(SharedEtcdFixture fixture)
{
    // Since an idle kept-alive connection gives its request buffers back between requests, 1,500 of them rose above
    // what the router keeps after any return (about 20 MB, the same with 3,000) by too little to tell apart from
    // what closing them allocates: the test failed 2 runs of 3. With 3,000 the burst held 24.4 MB, 4.3 above.
    private const int Burst = 3000;

    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task BurstOfConnectionsGone_MemoryReturned_AnonymousRssFallsBelowTheBurst()
    {
        await using var backend = await TestBackend.StartAsync("web-1");
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", backend.Address);
        // A low threshold, so that a burst a test can afford is enough.
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--return-memory", "4"]);
        await router.WaitRoutedAsync("web.local");
        var pid = router.Process.Id;
        var baseline = AnonymousKb(pid);

        var clients = new List<Socket>();
        long held;
        try
        {
            foreach (var batch in Enumerable.Range(0, Burst).Chunk(100))
            {
                clients.AddRange(await Task.WhenAll(batch.Select(_ => OneRequestKeptAliveAsync(router.HttpPort))));
            }

            held = AnonymousKb(pid);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        // Sampled every 10 s; the burst is over once about as few descriptors are open as before it, which
        // includes the router's idle pooled backend connections (closed after 50 s idle).
        await router.Process.WaitForOutputAsync("\"Name\":\"MemoryReturned\"", TimeSpan.FromSeconds(150));
        var line = router.Process.Lines.First(l => l.Contains("\"MemoryReturned\"", StringComparison.Ordinal));
        using var logged = JsonDocument.Parse(line);
        var before = logged.RootElement.GetProperty("BeforeMb").GetDouble();
        var after = logged.RootElement.GetProperty("AfterMb").GetDouble();
        Assert.True(after < before, line);
        var now = AnonymousKb(pid);
        Assert.True(now < held, $"anonymous memory {now} kB after the return, {held} kB during the burst, {baseline} kB before it; {line}");

        // The router still routes afterwards.
        var (status, _) = await router.EchoAsync("web.local", "/");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    private static async Task<Socket> OneRequestKeptAliveAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: web.local\r\n\r\n"));
        var buffer = new byte[8192];
        var seen = new StringBuilder();
        while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer);
            Assert.True(read > 0, "the router closed a kept-alive connection");
            seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        Assert.StartsWith("HTTP/1.1 200", seen.ToString(), StringComparison.Ordinal);
        return socket;
    }

    private static long AnonymousKb(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("RssAnon:", StringComparison.Ordinal))[8..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}
