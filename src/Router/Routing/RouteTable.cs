using System.Collections.Frozen;
using Router.Registry.Model;

namespace Router.Routing;

/// <summary>
/// Service name → route, immutable. A change builds a new table that shares every unchanged route (and so
/// its destinations and their health) with the old one; requests in flight keep the route they started with.
/// </summary>
internal sealed class RouteTable
{
    public static readonly RouteTable Empty = new(new Dictionary<string, ServiceRoute>(StringComparer.OrdinalIgnoreCase), 0);

    private readonly Dictionary<string, ServiceRoute> _routes;
    private readonly Dictionary<string, ServiceRoute>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private RouteTable(Dictionary<string, ServiceRoute> routes, long revision)
    {
        _routes = routes;
        _lookup = routes.GetAlternateLookup<ReadOnlySpan<char>>();
        Revision = revision;
    }

    public long Revision { get; }

    public int Count => _routes.Count;

    public IEnumerable<ServiceRoute> Routes => _routes.Values;

    /// <summary>Finds a service by name, any case, without allocating.</summary>
    public bool TryGet(ReadOnlySpan<char> name, out ServiceRoute route) => _lookup.TryGetValue(name, out route!);

    /// <summary>The whole table from a snapshot, reusing destinations of this table where the host is the same.</summary>
    public RouteTable Rebuild(RegistrySnapshot snapshot)
    {
        var routes = new Dictionary<string, ServiceRoute>(snapshot.Services.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, entry) in snapshot.Services)
        {
            routes[name] = Reuse(name, entry);
        }

        return new RouteTable(routes, snapshot.Revision);
    }

    /// <summary>A table with only the named services re-read from the snapshot.</summary>
    public RouteTable Update(RegistrySnapshot snapshot, IEnumerable<string> touched)
    {
        var routes = new Dictionary<string, ServiceRoute>(_routes, StringComparer.OrdinalIgnoreCase);
        foreach (var name in touched)
        {
            if (snapshot.Services.TryGetValue(name, out var entry))
            {
                routes[name] = Reuse(name, entry);
            }
            else
            {
                routes.Remove(name);
            }
        }

        return new RouteTable(routes, snapshot.Revision);
    }

    private ServiceRoute Reuse(string name, ServiceEntry entry)
    {
        if (!_routes.TryGetValue(name, out var old))
        {
            return new ServiceRoute(entry);
        }

        if (ReferenceEquals(old.Entry, entry))
        {
            return old;
        }

        var destinations = old.Destinations.ToFrozenDictionary(d => d.Host.Authority, StringComparer.Ordinal);
        return new ServiceRoute(entry, destinations);
    }
}
