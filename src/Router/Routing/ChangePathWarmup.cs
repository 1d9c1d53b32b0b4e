using System.Text;
using Router.Registry;
using Router.Registry.Model;

namespace Router.Routing;

/// <summary>
/// Runs the incremental change path once on a throwaway registry and table, off the request path, while the
/// router starts: a service added, a host changed, a host and then the service removed. The full read at
/// start-up uses other code (a load and a rebuild), so without this the first change after start paid the
/// compilation of the whole change path: 10–30 ms at 10k services, the largest change time in bench/scale.sh.
/// Nothing here touches the router's own registry, table or sockets.
/// </summary>
internal static class ChangePathWarmup
{
    /// <summary>Runs the steps; returns the throwaway table they end with (one service, host 2 only).</summary>
    public static RouteTable Run(RegistryLayout layout)
    {
        const string one = "router-warmup-1";
        const string two = "router-warmup-2";
        var state = new RegistryState(layout);
        var table = RouteTable.Empty;
        var loaded = state.Load([Key(layout.Scheme(one), "http", 1), Key(layout.Host(one, "1"), "127.0.0.1:9", 1)], 1);
        table = table.Apply(state.Snapshot, loaded);
        table = Step(state, table, 2, Put(layout.Scheme(two), "tcp", 2), Put(layout.Host(two, "1"), "127.0.0.1:9", 2), Put(layout.HostPort(two), "9", 2));
        table = Step(state, table, 3, Put(layout.Host(one, "1"), "127.0.0.1:10", 2), Put(layout.Host(one, "2"), "127.0.0.1:9", 3));
        table = Step(state, table, 4, Delete(layout.Host(one, "1"), 2));
        table = Step(state, table, 5, Delete(layout.Scheme(two), 2), Delete(layout.Host(two, "1"), 2), Delete(layout.HostPort(two), 2));
        return table;
    }

    private static RouteTable Step(RegistryState state, RouteTable table, long revision, params RegistryEvent[] events)
    {
        var change = state.Apply(events, revision);
        return table.Apply(state.Snapshot, change);
    }

    private static RegistryEvent Put(string key, string value, long created) => new(false, Key(key, value, created));

    private static RegistryEvent Delete(string key, long created) => new(true, Key(key, "", created));

    private static RegistryKeyValue Key(string key, string value, long created) => new(key, Encoding.UTF8.GetBytes(value), created, created);
}
