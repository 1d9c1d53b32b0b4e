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
            registry.Changed += (snapshot, _) => Update(snapshot);
            Update(registry.Current);
        }
    }

    public IReadOnlyList<RegistryProblem> Current => Volatile.Read(ref _current);

    private void Update(RegistrySnapshot snapshot)
    {
        lock (_gate)
        {
            var problems = ImmutableArray.CreateBuilder<RegistryProblem>();
            foreach (var (name, entry) in snapshot.Services.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                if (entry.Scheme == ServiceScheme.Https)
                {
                    problems.Add(new RegistryProblem(name, _layout.Scheme(name), "https service, but this router serves no HTTPS (--https not set): plain requests get 503 instead of a redirect"));
                }
                else if (entry.Scheme == ServiceScheme.Tls)
                {
                    problems.Add(new RegistryProblem(name, _layout.Scheme(name), entry.HostPort is { } port
                        ? $"tls service, but this router serves no HTTPS (--https not set): reachable only on its host_port {port}"
                        : "tls service, but this router serves no HTTPS (--https not set): not reachable here"));
                }
            }

            var current = problems.ToImmutable();
            Volatile.Write(ref _current, current);
            _log.Report(Source, current);
        }
    }
}
