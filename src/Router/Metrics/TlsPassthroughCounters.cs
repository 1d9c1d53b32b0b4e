namespace Router.Metrics;

/// <summary>The TLS passthrough counters for <c>/metrics</c>: per service as the TCP relays', and the ClientHellos refused.</summary>
internal sealed class TlsPassthroughCounters
{
    private long _notTls;
    private long _tooLarge;
    private long _timedOut;

    /// <summary>Relays by service: connections, connect failures, bytes (no refusals: Kestrel's connection limit refuses before the peek).</summary>
    public TcpCounters Services { get; } = new();

    public long NotTls => Volatile.Read(ref _notTls);

    public long TooLarge => Volatile.Read(ref _tooLarge);

    public long TimedOut => Volatile.Read(ref _timedOut);

    /// <summary>A ClientHello too large, or spread over too many records.</summary>
    public void CountTooLarge() => Interlocked.Increment(ref _tooLarge);

    /// <summary>First bytes that were no TLS handshake.</summary>
    public void CountNotTls() => Interlocked.Increment(ref _notTls);

    public void CountTimedOut() => Interlocked.Increment(ref _timedOut);
}
