using System.Net;

namespace Router.Dns.Reporting;

/// <summary>What one upstream did: answers with their latency, timeouts, socket errors and REFUSED answers.</summary>
internal sealed class UpstreamHealth(IPEndPoint upstream, TimeProvider time)
{
    private readonly long[] _buckets = new long[DnsReport.LatencyBounds.Count + 1];
    private long _answers;
    private long _timeouts;
    private long _errors;
    private long _refused;
    private long _sumMicroseconds;
    private int _consecutiveFailures;
    private long _lastAnswerTicks;
    private long _lastFailureTicks;

    public IPEndPoint Upstream { get; } = upstream;

    public void Answered(TimeSpan elapsed, bool refused)
    {
        var seconds = elapsed.TotalSeconds;
        var bucket = 0;
        while (bucket < DnsReport.LatencyBounds.Count && seconds > DnsReport.LatencyBounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _buckets[bucket]);
        Interlocked.Add(ref _sumMicroseconds, (long)(seconds * 1_000_000));
        Interlocked.Increment(ref _answers);
        if (refused)
        {
            Interlocked.Increment(ref _refused);
        }

        Volatile.Write(ref _consecutiveFailures, 0);
        Volatile.Write(ref _lastAnswerTicks, time.GetUtcNow().UtcTicks);
    }

    public void Failed(bool timedOut)
    {
        Interlocked.Increment(ref timedOut ? ref _timeouts : ref _errors);
        Interlocked.Increment(ref _consecutiveFailures);
        Volatile.Write(ref _lastFailureTicks, time.GetUtcNow().UtcTicks);
    }

    public DnsUpstreamReport Report(bool preferred)
    {
        var answers = Interlocked.Read(ref _answers);
        var failures = Volatile.Read(ref _consecutiveFailures);
        var health = failures > 0 ? "failing" : answers > 0 ? "up" : "unknown";
        var cumulative = new long[_buckets.Length];
        long running = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            running += Interlocked.Read(ref _buckets[i]);
            cumulative[i] = running;
        }

        return new DnsUpstreamReport(
            Upstream.ToString(),
            health,
            preferred,
            failures,
            answers,
            Interlocked.Read(ref _timeouts),
            Interlocked.Read(ref _errors),
            Interlocked.Read(ref _refused),
            At(Volatile.Read(ref _lastAnswerTicks)),
            At(Volatile.Read(ref _lastFailureTicks)),
            cumulative,
            Interlocked.Read(ref _sumMicroseconds) / 1_000_000.0);
    }

    private static DateTimeOffset? At(long ticks) => ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
}
