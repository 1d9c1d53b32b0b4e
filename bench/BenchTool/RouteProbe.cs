using System.Diagnostics;
using System.Net;

namespace BenchTool;

/// <summary>
/// Times a registry change until the router routes it: the put is sent without waiting for its answer, and
/// GETs with the service's Host go to the router back to back, on a kept-alive connection, until one is 200.
/// </summary>
internal sealed class RouteProbe : IDisposable
{
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(5);

    private readonly HttpClient _client;

    public RouteProbe(string router)
    {
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri($"http://{router}/"),
            Timeout = TimeSpan.FromSeconds(2),
        };
    }

    /// <summary>The status a GET for this Host gets now.</summary>
    public async Task<HttpStatusCode> GetAsync(string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = host;
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        return response.StatusCode;
    }

    /// <summary>
    /// Milliseconds from just before <paramref name="change"/> to the first 200, and to etcd's answer; and this
    /// tool's own garbage-collection pauses in between, which count in the first figure but are not the router's.
    /// </summary>
    public async Task<(double RoutedMs, double PutMs, double ProbeGcMs)?> MeasureAsync(Func<Task> change, string host)
    {
        var paused = GC.GetTotalPauseDuration();
        var started = Stopwatch.GetTimestamp();
        var put = change();
        var putMs = double.NaN;
        _ = put.ContinueWith(_ => putMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds, TaskScheduler.Default);
        while (Stopwatch.GetElapsedTime(started) < GiveUp)
        {
            if (await GetAsync(host) == HttpStatusCode.OK)
            {
                var routed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                var gc = (GC.GetTotalPauseDuration() - paused).TotalMilliseconds;
                await put;
                return (routed, putMs, gc);
            }
        }

        await put;
        return null;
    }

    public void Dispose() => _client.Dispose();
}
