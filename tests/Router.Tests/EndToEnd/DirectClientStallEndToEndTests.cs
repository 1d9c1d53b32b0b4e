using System.Globalization;
using System.Security.Cryptography;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// A client that stops reading is the client's business, not a backend failure (issue 14 §5): on the direct
/// path the backend's deadline (--backend-timeout, 2 s here) runs only while the router waits on the backend.
/// </summary>
public abstract class DirectClientStallEndToEndTests(SharedEtcdFixture fixture, params string[] more) : RouterScenario(fixture, ["--backend-timeout", "2", .. more])
{

    // Far more than the socket and pipe buffers between backend and client hold, so the router is stuck
    // writing to the client while the client does not read.
    private static readonly byte[] Body = RandomNumberGenerator.GetBytes(48 * 1024 * 1024);

    // The stall is the stimulus of these tests, not a wait for something: longer than --backend-timeout and
    // its watchdog, shorter than Kestrel's grace before it cuts a slow reader (MinResponseDataRate, 5 s).
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(4.5);

    [Fact]
    public async Task ClientStopsReadingLongerThanBackendTimeout_ResponseCompleteAndNoBackendTimeout()
    {
        await StartBackendAsync();

        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);
        await client.SendAsync("GET /big HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
        await Task.Delay(Stall);
        var response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.True(response.Complete, "the response was cut");
        Assert.Equal(SHA256.HashData(Body), SHA256.HashData(response.Body));
        var metrics = await MetricsAsync();
        Assert.Contains("router_direct_backend_errors_total{reason=\"timeout\"} 0", metrics);
        Assert.Contains("router_direct_client_aborts_total 0", metrics);
    }

    [Fact]
    public async Task ClientStopsReadingThenLeaves_CountedAsClientNotBackend()
    {
        await StartBackendAsync();

        using (var client = await RawHttpClient.OpenAsync(Proxy.HttpPort))
        {
            await client.SendAsync("GET /big HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
            await client.ReadRawAsync(atLeast: 64 * 1024);
            await Task.Delay(Stall);
            client.Abort();
        }

        await Wait.UntilAsync(async () => (await MetricsAsync()).Contains("router_direct_client_aborts_total 1"), "the client's abort to be counted");
        var metrics = await MetricsAsync();
        Assert.Contains("router_direct_backend_errors_total{reason=\"timeout\"} 0", metrics);
        Assert.Contains("router_direct_backend_errors_total{reason=\"connection\"} 0", metrics);
        Assert.DoesNotContain("Forwarding to", Proxy.Process.Output, StringComparison.Ordinal);
    }

    private async Task StartBackendAsync()
    {
        var backend = Own(RawHttpBackend.Start(async e =>
        {
            await e.SendAsync(string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {Body.Length}\r\n\r\n"));
            for (var offset = 0; offset < Body.Length; offset += 64 * 1024)
            {
                await e.SendAsync(Body.AsMemory(offset, Math.Min(64 * 1024, Body.Length - offset)));
            }
        }));
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", backend.Address);
        await Wait.UntilAsync(async () =>
        {
            var status = await Proxy.StatusAsync();
            return status.GetProperty("services").EnumerateArray().Any(s => s.GetProperty("name").GetString() == "web" && s.GetProperty("hosts").GetArrayLength() == 1);
        }, "web to be routed");
    }

    private async Task<string[]> MetricsAsync()
    {
        using var scrape = await Proxy.AdminGetAsync("/metrics");
        return (await scrape.Content.ReadAsStringAsync()).Split('\n');
    }
}

/// <summary>Stalled clients with the HTTP port on the router's own event loops: the loop's sends wait for the socket, never block it.</summary>
public sealed class LoopTransportDirectClientStallEndToEndTests(SharedEtcdFixture fixture) : DirectClientStallEndToEndTests(fixture, "--http-transport", "epoll");

/// <summary>Stalled clients with the HTTP port on Kestrel's socket transport (<c>--http-transport sockets</c>).</summary>
public sealed class SocketTransportDirectClientStallEndToEndTests(SharedEtcdFixture fixture) : DirectClientStallEndToEndTests(fixture, "--http-transport", "sockets");
