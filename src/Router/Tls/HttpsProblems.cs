using System.Collections.Immutable;
using Router.Registry;
using Router.Registry.Model;

namespace Router.Tls;

/// <summary>
/// Services this router cannot serve as registered because it serves no HTTPS (<c>--https</c> not set): an
/// <c>https</c>-only service (plain requests get 503, there is nowhere to redirect them) and a <c>tls</c>
/// service (reachable only on its host_port, if it has one). Problems in <c>/status</c>, logged once.
/// </summary>
internal sealed class HttpsProblems
{
    public const string Source = "https";

    private readonly Lock _gate = new();
    private readonly RegistryLayout _layout;
    private readonly ProblemLog _log;
    private ImmutableSortedDictionary<string, RegistryProblem> _byService = ImmutableSortedDictionary.Create<string, RegistryProblem>(StringComparer.Ordinal);
    private IReadOnlyList<RegistryProblem> _current = [];

    public HttpsProblems(IRegistrySource registry, TlsOptions options, RegistryLayout layout, ProblemLog log)
    {
        _layout = layout;
        _log = log;
        if (options.Https is not null)
        {
            return;
        }

        lock (_gate)
        {
            registry.Changed += Update;
            Update(registry.Current, null);
        }
    }

    public IReadOnlyList<RegistryProblem> Current => Volatile.Read(ref _current);

    /// <summary>
    /// A full read looks at every service; a watch event only at the services it touched, so one change costs the
    /// same with ten thousand services as with ten.
    /// </summary>
    private void Update(RegistrySnapshot snapshot, RegistryChange? change)
    {
        lock (_gate)
        {
            var before = _byService;
            var problems = before.ToBuilder();
            if (change is null || change.FullReload)
            {
                problems.Clear();
                foreach (var (name, entry) in snapshot.Services)
                {
                    Check(name, entry, problems);
                }
            }
            else
            {
                foreach (var name in change.Touched)
                {
                    problems.Remove(name);
                    if (snapshot.Services.TryGetValue(name, out var entry))
                    {
                        Check(name, entry, problems);
                    }
                }
            }

            _byService = problems.ToImmutable();
            if (ReferenceEquals(before, _byService) || (before.Count == 0 && _byService.Count == 0))
            {
                return;
            }

            var current = _byService.Values.ToImmutableArray();
            Volatile.Write(ref _current, current);
            _log.Report(Source, current);
        }
    }

    private void Check(string name, ServiceEntry entry, ImmutableSortedDictionary<string, RegistryProblem>.Builder problems)
    {
        if (entry.Scheme == ServiceScheme.Https)
        {
            problems[name] = new RegistryProblem(name, _layout.Scheme(name), "https service, but this router serves no HTTPS (--https not set): plain requests get 503 instead of a redirect");
        }
        else if (entry.Scheme == ServiceScheme.Tls)
        {
            problems[name] = new RegistryProblem(name, _layout.Scheme(name), entry.HostPort is { } port
                ? $"tls service, but this router serves no HTTPS (--https not set): reachable only on its host_port {port}"
                : "tls service, but this router serves no HTTPS (--https not set): not reachable here");
        }
    }
}
