using Router.Registry.Model;

namespace Router.Routing;

/// <summary>A routable service: its registry entry and its destinations, with round-robin selection.</summary>
internal sealed class ServiceRoute
{
    private readonly Destination[] _destinations;
    private int _next = -1;

    /// <param name="entry">The service as the registry has it now.</param>
    /// <param name="reuse">Destinations of the previous route by <see cref="Key"/>: a host still there keeps its health and connections.</param>
    public ServiceRoute(ServiceEntry entry, IReadOnlyDictionary<(string Id, string Authority), Destination>? reuse = null)
    {
        Entry = entry;
        _destinations = [.. entry.Hosts.Select(h => reuse is not null && reuse.TryGetValue(Key(h), out var d) ? d : new Destination(h))];
    }

    public ServiceEntry Entry { get; }

    public string Name => Entry.Name;

    public IReadOnlyList<Destination> Destinations => _destinations;

    /// <summary>
    /// The next destination in turn that is not set aside and was not tried for this request (bit i of
    /// <paramref name="tried"/> set means index i was tried). When every untried one is set aside, the
    /// next untried is taken anyway: a host that is maybe back beats a certain 503.
    /// </summary>
    public int Pick(long nowTimestamp, ulong tried)
    {
        var count = _destinations.Length;
        if (count == 0)
        {
            return -1;
        }

        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)count);
        var fallback = -1;
        for (var i = 0; i < count; i++)
        {
            var index = (start + i) % count;
            if ((tried & Bit(index)) != 0)
            {
                continue;
            }

            if (_destinations[index].IsUsable(nowTimestamp))
            {
                return index;
            }

            fallback = fallback < 0 ? index : fallback;
        }

        return fallback;
    }

    /// <summary>
    /// What makes a host the same host across changes: its id and its address. Two ids with one address are two
    /// destinations (both routed, each listed and measured under its own id); a host whose id moves to
    /// another address is a new destination.
    /// </summary>
    public static (string Id, string Authority) Key(ServiceHost host) => (host.Id, host.Authority);

    public static ulong Bit(int index) => 1UL << (index & 63);
}
