using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Router.Metrics;
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
    private readonly RegistryLayout _layout;
    private volatile RouteTable _current = RouteTable.Empty;
    private volatile bool _fromEtcd;
    private volatile RouteProblems _problems = new(RouteTable.Empty.Failures, []);

    private readonly TimeSpan _drainTimeout;

    public RouteTableHolder(IRegistrySource registry, DrainOptions options, RegistryLayout layout, ILogger<RouteTableHolder> logger)
    {
        _logger = logger;
        _layout = layout;
        _drainTimeout = options.DrainTimeout;
        registry.Changed += OnChanged;

        // Beside the start-up's I/O waits (etcd's connect and read), never in a change's way.
        _ = Task.Run(() =>
        {
            try
            {
                ChangePathWarmup.Run(layout);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Costs the first change its speed, nothing else: the real path reports its own failures.
                Log.WarmupFailed(_logger, e);
            }
        });
        lock (_gate)
        {
            _current = _current.Rebuild(registry.Current);
            ReportFailures(_current);
        }
    }

    public RouteTable Current => _current;

    /// <summary>
    /// True once a table built from an etcd answer is the one requests read (not merely read from etcd:
    /// the registry's status turns ready before its handlers, this one among them, have run). <c>/readyz</c>.
    /// </summary>
    public bool FromEtcd => _fromEtcd;

    /// <summary>Services whose route could not be built, as problems for <c>/status</c>.</summary>
    public ImmutableArray<RegistryProblem> Problems => _problems.List;

    /// <summary>
    /// Change-to-live times: from etcd's answer arriving (a watch event, or the full read) to the new table
    /// being the one requests read. <c>router_config_apply_seconds</c>.
    /// </summary>
    public SecondsHistogram ApplyTimes { get; } = new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);

    private void OnChanged(RegistrySnapshot snapshot, RegistryChange change)
    {
        var started = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            var old = _current;
            IEnumerable<string> touched = change.FullReload
                ? [.. old.Routes.Select(r => r.Name), .. snapshot.Services.Keys]
                : [.. change.Removed, .. change.Changed];
            _current = old.Apply(snapshot, change);
            RetireRemoved(old, _current, touched);
            ReportFailures(_current);
        }

        // A table seeded from a saved registry has no etcd answer to measure from.
        if (change.ReceivedTimestamp != 0)
        {
            ApplyTimes.Record(Stopwatch.GetElapsedTime(change.ReceivedTimestamp));
            if (!_fromEtcd)
            {
                SettleHeap(snapshot.Services.Count);
            }

            _fromEtcd = true;
        }

        Log.TableSwapped(_logger, snapshot.Revision, _current.Count, _current.Failures.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// Once, after the first table from etcd and before <c>/readyz</c> says ready: a full compacting collection.
    /// The full read leaves the whole registry and the table (about 100 MB at 10k services) in the youngest
    /// generation; left there, the first collection that promotes it came at a random later moment, during a
    /// registry change (a 25 ms pause, the largest change time at 10k services). Here it costs start-up time
    /// instead, when nothing is routed from etcd yet, and the heap starts compact.
    /// </summary>
    private void SettleHeap(int services)
    {
        var started = Stopwatch.GetTimestamp();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        Log.HeapSettled(_logger, services, GC.GetTotalMemory(forceFullCollection: false) / (1024.0 * 1024.0), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Logs each route failure once when it appears or its reason changes, and once when it is gone.</summary>
    private void ReportFailures(RouteTable table)
    {
        var before = _problems.Failures;
        if (ReferenceEquals(before, table.Failures))
        {
            return;
        }

        foreach (var (name, reason) in table.Failures)
        {
            if (!before.TryGetValue(name, out var was) || was != reason)
            {
                Log.RouteFailed(_logger, name, reason);
            }
        }

        foreach (var (name, reason) in before)
        {
            if (!table.Failures.ContainsKey(name))
            {
                Log.RouteRecovered(_logger, name, reason);
            }
        }

        _problems = new RouteProblems(table.Failures, [.. table.Failures.Select(f => new RegistryProblem(f.Key, _layout.ServiceFolder(f.Key), f.Value))]);
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

    private sealed record RouteProblems(ImmutableSortedDictionary<string, string> Failures, ImmutableArray<RegistryProblem> List);

    private static partial class Log
    {
        [LoggerMessage(EventIds.RouteTableSwapped, LogLevel.Debug, "Route table at revision {Revision}: {Count} services ({Failed} not rebuilt), swapped in {ElapsedMs:F2} ms")]
        public static partial void TableSwapped(ILogger logger, long revision, int count, int failed, double elapsedMs);

        [LoggerMessage(EventIds.ChangePathWarmupFailed, LogLevel.Debug, "Warming the change path up failed; the first registry change compiles it")]
        public static partial void WarmupFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventIds.HeapSettled, LogLevel.Information, "First table from etcd ({Services} services): heap compacted to {HeapMb:F1} MB in {ElapsedMs:F1} ms")]
        public static partial void HeapSettled(ILogger logger, int services, double heapMb, double elapsedMs);

        [LoggerMessage(EventIds.RouteFailed, LogLevel.Error, "Route of service {Service} not applied: {Reason}")]
        public static partial void RouteFailed(ILogger logger, string service, string reason);

        [LoggerMessage(EventIds.RouteRecovered, LogLevel.Information, "Route of service {Service} applied again (was: {Reason})")]
        public static partial void RouteRecovered(ILogger logger, string service, string reason);
    }
}
