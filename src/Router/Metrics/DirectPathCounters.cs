namespace Router.Metrics;

/// <summary>What the direct HTTP path did beyond plain forwarding, for <c>/metrics</c>.</summary>
internal sealed class DirectPathCounters
{
    private long _forwarded;
    private long _staleRetries;
    private long _protocolErrors;
    private long _timeouts;
    private long _ioErrors;
    private long _clientGone;

    /// <summary>Requests the direct path took (the rest went through YARP).</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Requests sent again on a new connection because a kept-alive one had been closed by the backend.</summary>
    public long StaleRetries => Interlocked.Read(ref _staleRetries);

    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    public long Timeouts => Interlocked.Read(ref _timeouts);

    /// <summary>Backend connections that closed or broke under a request (not a stale retry).</summary>
    public long IoErrors => Interlocked.Read(ref _ioErrors);

    /// <summary>Requests whose client went away or stopped reading (Kestrel cut it) while the backend answered: the client's failure, not the backend's.</summary>
    public long ClientGone => Interlocked.Read(ref _clientGone);

    public void CountClientGone() => Interlocked.Increment(ref _clientGone);

    public void CountForwarded() => Interlocked.Increment(ref _forwarded);

    public void CountStaleRetry() => Interlocked.Increment(ref _staleRetries);

    /// <summary>The backend stayed silent past --backend-timeout.</summary>
    public void CountTimeout() => Interlocked.Increment(ref _timeouts);

    /// <summary>The backend's response could not be read as HTTP/1.1.</summary>
    public void CountProtocolError() => Interlocked.Increment(ref _protocolErrors);

    public void CountIoError() => Interlocked.Increment(ref _ioErrors);
}
