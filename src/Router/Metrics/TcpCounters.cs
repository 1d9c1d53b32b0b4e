using System.Collections.Concurrent;

namespace Router.Metrics;

/// <summary>The TCP relays' counters per service, for <c>/metrics</c>; updated lock-free by the relays.</summary>
internal sealed class TcpCounters
{
    private readonly ConcurrentDictionary<string, TcpServiceCounters> _services = new(StringComparer.Ordinal);

    public TcpServiceCounters For(string service) => _services.GetOrAdd(service, static _ => new TcpServiceCounters());

    /// <summary>Drops the counters of services <paramref name="routed"/> no longer knows, so series stay bounded.</summary>
    public void Forget(Func<string, bool> routed)
    {
        foreach (var name in _services.Keys)
        {
            if (!routed(name))
            {
                _services.TryRemove(name, out _);
            }
        }
    }

    public IEnumerable<KeyValuePair<string, TcpServiceCounters>> Services => _services.OrderBy(p => p.Key, StringComparer.Ordinal);
}
