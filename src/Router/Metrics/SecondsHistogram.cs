namespace Router.Metrics;

/// <summary>
/// A Prometheus histogram of durations with fixed buckets, recorded lock-free and rendered as
/// <c>_bucket</c>/<c>_sum</c>/<c>_count</c> series.
/// </summary>
internal sealed class SecondsHistogram(double[] buckets)
{
    private readonly long[] _counts = new long[buckets.Length + 1];
    private long _count;
    private long _sumMicroseconds;

    /// <summary>Upper bounds in seconds, rising; the implicit last bucket is +Inf.</summary>
    public IReadOnlyList<double> Buckets => buckets;

    public long Count => Interlocked.Read(ref _count);

    public void Record(TimeSpan elapsed)
    {
        var seconds = elapsed.TotalSeconds;
        var bucket = 0;
        while (bucket < buckets.Length && seconds > buckets[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Add(ref _sumMicroseconds, (long)(seconds * 1_000_000));
        Interlocked.Increment(ref _count);
    }

    /// <summary>Cumulative counts per bucket (the last is +Inf), the total count and the sum in seconds.</summary>
    public (long[] Cumulative, long Count, double Sum) Read()
    {
        var cumulative = new long[_counts.Length];
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Interlocked.Read(ref _counts[i]);
            cumulative[i] = running;
        }

        return (cumulative, running, Interlocked.Read(ref _sumMicroseconds) / 1_000_000.0);
    }
}
