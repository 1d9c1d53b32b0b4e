namespace Router.Registry;

/// <summary>
/// The pause between retries of something that keeps failing: it starts at <c>first</c>, doubles after each pause
/// up to <c>longest</c>, and starts over at the first success (<see cref="Reset"/>). One type for every retry loop
/// (etcd watch, announcer registration, DNS bind, TCP accept), so they cannot drift apart. Not thread-safe: each
/// loop owns its own.
/// </summary>
public sealed class Backoff
{
    private readonly TimeSpan _first;
    private readonly TimeSpan _longest;
    private TimeSpan _next;

    public Backoff(TimeSpan first, TimeSpan longest)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(first, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(longest, first);
        _first = first;
        _longest = longest;
        _next = first;
    }

    /// <summary>The pause <see cref="Next"/> returns next time (for a log line that announces it).</summary>
    public TimeSpan Current => _next;

    /// <summary>Returns the pause to take now and doubles the one after it, up to the longest.</summary>
    public TimeSpan Next()
    {
        var now = _next;
        // Compared before doubling so a long cap cannot overflow TimeSpan.
        _next = now > _longest / 2 ? _longest : now * 2;
        return now;
    }

    public void Reset() => _next = _first;
}
