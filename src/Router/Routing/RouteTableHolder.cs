using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Router.Hosting;
using Router.Registry;
using Router.Registry.Model;

namespace Router.Routing;

/// <summary>
/// Keeps the route table in step with the registry: each published snapshot becomes a new table, swapped
/// in atomically. Requests read <see cref="Current"/> once and keep that table to the end.
/// </summary>
internal sealed partial class RouteTableHolder
{
    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private volatile RouteTable _current = RouteTable.Empty;

    private readonly TimeSpan _drainTimeout;

    public RouteTableHolder(IRegistrySource registry, RouterOptions options, ILogger<RouteTableHolder> logger)
    {
        _logger = logger;
        _drainTimeout = options.DrainTimeout;
        registry.Changed += OnChanged;
        lock (_gate)
        {
            _current = _current.Rebuild(registry.Current);
        }
    }

    public RouteTable Current => _current;

    /// <summary>How long the last table swap took, for metrics.</summary>
    public TimeSpan LastApplyTime { get; private set; }

    private void OnChanged(RegistrySnapshot snapshot, RegistryChange change)
    {
        var started = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            var old = _current;
            IEnumerable<string> touched = change.FullReload
                ? [.. old.Routes.Select(r => r.Name), .. snapshot.Services.Keys]
                : [.. change.Removed, .. change.Changed];
            _current = change.FullReload
                ? old.Rebuild(snapshot)
                : old.Update(snapshot, change.Added.Concat(change.Removed).Concat(change.Changed));
            RetireRemoved(old, _current, touched);
        }

        LastApplyTime = Stopwatch.GetElapsedTime(started);
        Log.TableSwapped(_logger, snapshot.Revision, _current.Count, LastApplyTime.TotalMilliseconds);
    }

    /// <summary>Hosts that left with this change get the drain time, then their requests and relays end.</summary>
    private void RetireRemoved(RouteTable old, RouteTable current, IEnumerable<string> touched)
    {
        foreach (var name in touched.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!old.TryGet(name, out var before))
            {
                continue;
            }

            var kept = current.TryGet(name, out var after) ? after.Destinations : [];
            foreach (var destination in before.Destinations)
            {
                if (!kept.Contains(destination))
                {
                    destination.Retire(_drainTimeout);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(200, LogLevel.Debug, "Route table at revision {Revision}: {Count} services, swapped in {ElapsedMs:F2} ms")]
        public static partial void TableSwapped(ILogger logger, long revision, int count, double elapsedMs);
    }
}
