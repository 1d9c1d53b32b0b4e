using Microsoft.Extensions.Logging;
using Router.Registry.Model;

namespace Router.Registry;

/// <summary>
/// Logs every problem once: when it appears (or its message changes) and once more when it is gone. Each
/// source (the registry snapshot, the host_port listeners, …) reports its whole current list whenever it
/// has one; only the difference to that source's previous list is logged. Registry problems are followed
/// from every published snapshot, so a change that alters no routed service (a new folder whose first
/// <c>scheme</c> is a typo) still logs its problem.
/// </summary>
public sealed partial class ProblemLog
{
    /// <summary>The source name of the registry snapshot's own problems.</summary>
    public const string RegistrySource = "registry";

    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private readonly Dictionary<string, HashSet<RegistryProblem>> _known = new(StringComparer.Ordinal);
    private long _registryRevision = -1;

    public ProblemLog(IRegistrySource registry, ILogger<ProblemLog> logger)
    {
        _logger = logger;
        lock (_gate)
        {
            // Subscribed and read under the lock: a snapshot published meanwhile waits for this first report.
            registry.Changed += (snapshot, _) => ReportRegistry(snapshot);
            ReportRegistry(registry.Current);
        }
    }

    /// <summary>Takes <paramref name="problems"/> as the whole current list of <paramref name="source"/> and logs what differs.</summary>
    public void Report(string source, IEnumerable<RegistryProblem> problems)
    {
        lock (_gate)
        {
            var now = new HashSet<RegistryProblem>(problems);
            var before = _known.GetValueOrDefault(source) ?? [];
            foreach (var problem in now.Where(p => !before.Contains(p)).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                Log.Found(_logger, problem.Service, problem.Key, problem.Message);
            }

            foreach (var problem in before.Where(p => !now.Contains(p)).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                Log.Resolved(_logger, problem.Service, problem.Key, problem.Message);
            }

            _known[source] = now;
        }
    }

    private void ReportRegistry(RegistrySnapshot snapshot)
    {
        lock (_gate)
        {
            // Snapshots come in order on the watcher's loop; the first report may race one of them, never an older one after it.
            if (snapshot.Revision < _registryRevision)
            {
                return;
            }

            _registryRevision = snapshot.Revision;
            Report(RegistrySource, snapshot.Problems);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.ProblemFound, LogLevel.Warning, "Problem in service {Service} at {Key}: {Problem}")]
        public static partial void Found(ILogger logger, string service, string key, string problem);

        [LoggerMessage(EventIds.ProblemResolved, LogLevel.Information, "Problem resolved in service {Service} at {Key}: {Problem}")]
        public static partial void Resolved(ILogger logger, string service, string key, string problem);
    }
}
