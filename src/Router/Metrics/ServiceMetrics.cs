using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Router.Metrics;

/// <summary>
/// Request counters and a latency histogram of one service, updated lock-free on the request path.
/// Counters are keyed by status code and method; the histogram has fixed buckets.
/// </summary>
internal sealed class ServiceMetrics
{
    /// <summary>Upper bounds in seconds, as Prometheus client libraries default to.</summary>
    public static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"];

    private readonly ConcurrentDictionary<int, StrongBox<long>> _requests = new();
    private readonly long[] _bucketCounts = new long[Buckets.Length + 1];
    private long _count;
    private long _sumMicroseconds;

    public void Record(string method, int status, TimeSpan elapsed)
    {
        var key = (status * 16) + MethodIndex(method);
        var counter = _requests.GetOrAdd(key, static _ => new StrongBox<long>());
        Interlocked.Increment(ref counter.Value);

        var seconds = elapsed.TotalSeconds;
        var bucket = 0;
        while (bucket < Buckets.Length && seconds > Buckets[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _bucketCounts[bucket]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumMicroseconds, (long)(seconds * 1_000_000));
    }

    /// <summary>(status, method, count) for every pair seen so far.</summary>
    public IEnumerable<(int Status, string Method, long Count)> Requests =>
        _requests.Select(p => (p.Key / 16, Methods[p.Key % 16], Interlocked.Read(ref p.Value.Value)))
            .OrderBy(r => r.Item1).ThenBy(r => r.Item2, StringComparer.Ordinal);

    /// <summary>Requests answered so far, and how many of them with a 5xx status (the error rate's count).</summary>
    public (long Requests, long Errors) Totals()
    {
        long requests = 0;
        long errors = 0;
        foreach (var (key, counter) in _requests)
        {
            var count = Interlocked.Read(ref counter.Value);
            requests += count;
            if (key / 16 >= 500)
            {
                errors += count;
            }
        }

        return (requests, errors);
    }

    /// <summary>Cumulative counts per bucket (the last is +Inf), the total count and the sum in seconds.</summary>
    public (long[] Cumulative, long Count, double Sum) Histogram()
    {
        var cumulative = new long[_bucketCounts.Length];
        long running = 0;
        for (var i = 0; i < _bucketCounts.Length; i++)
        {
            running += Interlocked.Read(ref _bucketCounts[i]);
            cumulative[i] = running;
        }

        return (cumulative, Interlocked.Read(ref _count), Interlocked.Read(ref _sumMicroseconds) / 1_000_000.0);
    }

    private static int MethodIndex(string method) => method switch
    {
        "GET" => 0,
        "HEAD" => 1,
        "POST" => 2,
        "PUT" => 3,
        "DELETE" => 4,
        "PATCH" => 5,
        "OPTIONS" => 6,
        _ => 7,
    };
}
