using System.Collections.Immutable;
using Router.Registry.Model;

namespace Router.Routing;

/// <summary>
/// Service name → route, immutable. A change builds a new table that shares every unchanged route (and so
/// its destinations and their health) with the old one; requests in flight keep the route they started with.
/// Building never fails as a whole: a service whose route cannot be built keeps its last good route (or has
/// none) and is listed in <see cref="Failures"/>, and every other service still gets its new route.
/// </summary>
internal sealed class RouteTable
{
    public static readonly RouteTable Empty = new(new Dictionary<string, ServiceRoute>(StringComparer.OrdinalIgnoreCase), ImmutableSortedDictionary<string, string>.Empty, 0);

    private readonly Dictionary<string, ServiceRoute> _routes;
    private readonly Dictionary<string, ServiceRoute>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private RouteTable(Dictionary<string, ServiceRoute> routes, ImmutableSortedDictionary<string, string> failures, long revision)
    {
        _routes = routes;
        _lookup = routes.GetAlternateLookup<ReadOnlySpan<char>>();
        Failures = failures;
        Revision = revision;
    }

    public long Revision { get; }

    public int Count => _routes.Count;

    public IEnumerable<ServiceRoute> Routes => _routes.Values;

    /// <summary>Services whose route could not be built from the registry, with why (service name → message).</summary>
    public ImmutableSortedDictionary<string, string> Failures { get; }

    /// <summary>Finds a service by name, any case, without allocating.</summary>
    public bool TryGet(ReadOnlySpan<char> name, out ServiceRoute route) => _lookup.TryGetValue(name, out route!);

    /// <summary>The table after one registry change: a full re-read rebuilds every route, an incremental change only the services it names.</summary>
    public RouteTable Apply(RegistrySnapshot snapshot, RegistryChange change) => change.FullReload
        ? Rebuild(snapshot)
        : Update(snapshot, change.Touched);

    /// <summary>The whole table from a snapshot, reusing destinations of this table where the host is the same.</summary>
    public RouteTable Rebuild(RegistrySnapshot snapshot)
    {
        var routes = new Dictionary<string, ServiceRoute>(snapshot.Services.Count, StringComparer.OrdinalIgnoreCase);
        var failures = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (name, entry) in snapshot.Services)
        {
            Build(name, entry, routes, failures);
        }

        return new RouteTable(routes, failures.ToImmutable(), snapshot.Revision);
    }

    /// <summary>A table with only the named services re-read from the snapshot.</summary>
    public RouteTable Update(RegistrySnapshot snapshot, IEnumerable<string> touched)
    {
        var routes = new Dictionary<string, ServiceRoute>(_routes, StringComparer.OrdinalIgnoreCase);
        var failures = Failures.ToBuilder();
        foreach (var name in touched)
        {
            if (snapshot.Services.TryGetValue(name, out var entry))
            {
                Build(name, entry, routes, failures);
            }
            else
            {
                routes.Remove(name);
                failures.Remove(name);
            }
        }

        return new RouteTable(routes, failures.ToImmutable(), snapshot.Revision);
    }

    private void Build(string name, ServiceEntry entry, Dictionary<string, ServiceRoute> routes, ImmutableSortedDictionary<string, string>.Builder failures)
    {
        try
        {
            routes[name] = Reuse(name, entry);
            failures.Remove(name);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // One service's bad data (or a bug it trips) must not stop the others from changing: it keeps
            // its last good route, if it had one, and is reported until a later change builds it.
            var kept = _routes.TryGetValue(name, out var old);
            if (kept)
            {
                routes[name] = old!;
            }
            else
            {
                routes.Remove(name);
            }

            failures[name] = $"route not built ({e.GetType().Name}: {e.Message}); {(kept ? "the last good route is kept" : "service not routed")}";
        }
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

        // Keyed by host id and address: two ids with one address (an instance re-registered under a new id
        // before the old key's lease ran out) are two destinations, each kept with its own health. TryAdd,
        // not Add: a duplicate must never make a route unbuildable.
        var destinations = new Dictionary<(string Id, string Authority), Destination>(old.Destinations.Count);
        foreach (var destination in old.Destinations)
        {
            destinations.TryAdd(ServiceRoute.Key(destination.Host), destination);
        }

        return new ServiceRoute(entry, destinations);
    }
}
