using Router.Tcp;

namespace Router.Tls;

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

    public void Count(ClientHelloStatus refused)
    {
        if (refused == ClientHelloStatus.TooLarge)
        {
            Interlocked.Increment(ref _tooLarge);
        }
        else
        {
            Interlocked.Increment(ref _notTls);
        }
    }

    public void CountTimedOut() => Interlocked.Increment(ref _timedOut);
}
