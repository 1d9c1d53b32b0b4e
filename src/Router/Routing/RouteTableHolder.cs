using System.Diagnostics;
using Microsoft.Extensions.Logging;
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

    public RouteTableHolder(IRegistrySource registry, ILogger<RouteTableHolder> logger)
    {
        _logger = logger;
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
            _current = change.FullReload
                ? _current.Rebuild(snapshot)
                : _current.Update(snapshot, change.Added.Concat(change.Removed).Concat(change.Changed));
        }

        LastApplyTime = Stopwatch.GetElapsedTime(started);
        Log.TableSwapped(_logger, snapshot.Revision, _current.Count, LastApplyTime.TotalMilliseconds);
    }

    private static partial class Log
    {
        [LoggerMessage(200, LogLevel.Debug, "Route table at revision {Revision}: {Count} services, swapped in {ElapsedMs:F2} ms")]
        public static partial void TableSwapped(ILogger logger, long revision, int count, double elapsedMs);
    }
}
