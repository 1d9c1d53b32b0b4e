namespace Router.Routing.Direct;

/// <summary>What the direct HTTP path did beyond plain forwarding, for <c>/metrics</c>.</summary>
internal sealed class DirectPathCounters
{
    private readonly long[] _failures = new long[Enum.GetValues<BackendFailure>().Length];
    private long _forwarded;
    private long _staleRetries;
    private long _clientGone;

    /// <summary>Requests the direct path took (the rest went through YARP).</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Requests sent again on a new connection because a kept-alive one had been closed by the backend.</summary>
    public long StaleRetries => Interlocked.Read(ref _staleRetries);

    /// <summary>Requests a backend failed for this reason (not a stale retry); 0 for a reason not counted (<see cref="BackendFailures.CounterLabel"/>).</summary>
    public long Failures(BackendFailure failure) => Interlocked.Read(ref _failures[(int)failure]);

    /// <summary>Requests whose client went away or stopped reading (Kestrel cut it) while the backend answered: the client's failure, not the backend's.</summary>
    public long ClientGone => Interlocked.Read(ref _clientGone);

    public void CountClientGone() => Interlocked.Increment(ref _clientGone);

    public void CountForwarded() => Interlocked.Increment(ref _forwarded);

    public void CountStaleRetry() => Interlocked.Increment(ref _staleRetries);

    public void CountFailure(BackendFailure failure)
    {
        if (BackendFailures.CounterLabel(failure) is not null)
        {
            Interlocked.Increment(ref _failures[(int)failure]);
        }
    }
}
