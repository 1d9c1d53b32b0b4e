namespace Router.Dns;

/// <summary>
/// The responder's state for <c>/status</c> and <c>/metrics</c>: whether it is bound (and why not), its
/// upstreams with their health, the cache, and answer counters.
/// </summary>
/// <param name="BindError">Why the listen address could not be bound yet (a socket error name); null once bound.</param>
/// <param name="IgnoredUpstreams">Configured upstreams dropped because they are the responder itself.</param>
public sealed record DnsReport(
    string Listen,
    bool Bound,
    string? BindError,
    string Zone,
    IReadOnlyList<DnsUpstreamReport> Upstreams,
    IReadOnlyList<string> IgnoredUpstreams,
    int CacheEntries,
    int CacheCapacity,
    long CacheHits,
    long CacheMisses,
    IReadOnlyList<DnsAnswerCount> Answers)
{
    /// <summary>Upper bounds in seconds of the upstream latency histogram.</summary>
    public static IReadOnlyList<double> LatencyBounds { get; } = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
}
