using Router.Registry.Model;

namespace Router.Routing;

/// <summary>A routable service: its registry entry and its destinations, with round-robin selection.</summary>
internal sealed class ServiceRoute
{
    private readonly Destination[] _destinations;
    private int _next = -1;

    public ServiceRoute(ServiceEntry entry, IReadOnlyDictionary<string, Destination>? reuse = null)
    {
        Entry = entry;
        _destinations = [.. entry.Hosts.Select(h => reuse is not null && reuse.TryGetValue(h.Authority, out var d) ? d : new Destination(h))];
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

    public static ulong Bit(int index) => 1UL << (index & 63);
}
