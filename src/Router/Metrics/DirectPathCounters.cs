using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Router.Metrics;

/// <summary>What the direct HTTP path did beyond plain forwarding, for <c>/metrics</c>.</summary>
internal sealed class DirectPathCounters
{
    // Failures are rare: a dictionary by reason costs nothing on the forwarding path.
    private readonly ConcurrentDictionary<string, StrongBox<long>> _failures = new(StringComparer.Ordinal);
    private long _forwarded;
    private long _staleRetries;
    private long _clientGone;
    private long _connectionLevel;

    /// <summary>Requests the direct path took (the rest went through YARP).</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Requests sent again on a new connection because a kept-alive one had been closed by the backend.</summary>
    public long StaleRetries => Interlocked.Read(ref _staleRetries);

    /// <summary>Requests a backend failed for this reason (not a stale retry); 0 for a reason never counted.</summary>
    public long Failures(string reason) => _failures.TryGetValue(reason, out var count) ? Interlocked.Read(ref count.Value) : 0;

    /// <summary>Requests whose client went away or stopped reading (Kestrel cut it) while the router connected or the backend answered: the client's failure, not the backend's.</summary>
    public long ClientGone => Interlocked.Read(ref _clientGone);

    /// <summary>Requests of <see cref="Forwarded"/> taken at the connection, below Kestrel's HTTP layer (plain GET and HEAD).</summary>
    public long ConnectionLevel => Interlocked.Read(ref _connectionLevel);

    public void CountConnectionLevel() => Interlocked.Increment(ref _connectionLevel);

    public void CountClientGone() => Interlocked.Increment(ref _clientGone);

    public void CountForwarded() => Interlocked.Increment(ref _forwarded);

    public void CountStaleRetry() => Interlocked.Increment(ref _staleRetries);

    /// <summary>
    /// One more request a backend failed for this reason (the <c>reason</c> label; Routing's
    /// <c>BackendFailures</c> decides which failures are counted and under which label).
    /// </summary>
    public void CountFailure(string reason) => Interlocked.Increment(ref _failures.GetOrAdd(reason, static _ => new StrongBox<long>()).Value);
}
