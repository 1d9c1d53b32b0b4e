namespace Router.Dns.Responding;

/// <summary>
/// Lets one message through per interval and counts the rest, so a flood of bad packets cannot flood the log.
/// Uses the real clock: it is about log volume, not about DNS time.
/// </summary>
internal sealed class LogLimiter(TimeSpan interval)
{
    private long _next;
    private long _suppressed;

    public bool TryEnter(out long suppressed)
    {
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _next);
        if (now < next || Interlocked.CompareExchange(ref _next, now + (long)interval.TotalMilliseconds, next) != next)
        {
            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }

        suppressed = Interlocked.Exchange(ref _suppressed, 0);
        return true;
    }
}
