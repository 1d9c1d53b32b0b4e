using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Router.Testing;

/// <summary>
/// Keep-alive load through the router for as long as a test needs it: several workers, each with its own
/// connection, sending GETs with a Host header and counting every answer that is not 200.
/// </summary>
public sealed class LoadClient : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<LoadFailure> _failures = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task[] _workers;
    private long _sent;
    private long _ok;

    private LoadClient(int port, string host, string path, int workers, TimeSpan limit)
    {
        _stop.CancelAfter(limit);
        _workers = [.. Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(port, host, path)))];
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long Ok => Interlocked.Read(ref _ok);

    public IReadOnlyCollection<LoadFailure> Failures => _failures;

    /// <summary>Seconds since the load started: failures carry it, so a test can tell when they happened.</summary>
    public double Elapsed => _clock.Elapsed.TotalSeconds;

    /// <summary>Starts the load; it stops by itself after <paramref name="limit"/> at the latest.</summary>
    public static LoadClient Start(int port, string host, string path = "/", int workers = 4, TimeSpan? limit = null) =>
        new(port, host, path, workers, limit ?? TimeSpan.FromSeconds(60));

    /// <summary>Stops the load and waits for the workers to finish their last request.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
    }

    public string Describe() =>
        $"{Sent} sent, {Ok} ok, {Failures.Count} failed" + string.Concat(Failures.Take(10).Select(f => $"\n  at {f.AtSeconds:F2}s: {f.What}"));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task WorkAsync(int port, string host, string path)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 1, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        while (!_stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _sent);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Host = host;
                using var response = await client.SendAsync(request, CancellationToken.None);
                await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref _ok);
                }
                else
                {
                    _failures.Enqueue(new LoadFailure(Elapsed, $"HTTP {(int)response.StatusCode}"));
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                _failures.Enqueue(new LoadFailure(Elapsed, $"{e.GetType().Name}: {e.Message}"));
            }
        }
    }
}
