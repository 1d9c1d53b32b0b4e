using System.Collections.Concurrent;

namespace Router.Tcp;

/// <summary>The TCP relays' counters per service, for <c>/metrics</c>; updated lock-free by the relays.</summary>
internal sealed class TcpCounters
{
    private readonly ConcurrentDictionary<string, TcpServiceCounters> _services = new(StringComparer.Ordinal);

    public TcpServiceCounters For(string service) => _services.GetOrAdd(service, static _ => new TcpServiceCounters());

    public IEnumerable<KeyValuePair<string, TcpServiceCounters>> Services => _services.OrderBy(p => p.Key, StringComparer.Ordinal);
}
