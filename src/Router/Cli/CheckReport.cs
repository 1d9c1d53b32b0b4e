using System.Collections.Immutable;
using Router.Registry;
using Router.Registry.Model;
using Router.Registry.Validation;
using Router.Routing;

namespace Router.Cli;

/// <summary>
/// What <c>router check</c> found in one read of the registry. Built by the code the router itself runs on
/// every change (<see cref="RegistryState"/> for parsing, validation and the host_port claims, the route
/// table for routes that cannot be built), so the check and the router never disagree about a key.
/// </summary>
internal sealed record CheckReport(
    string Source,
    string Prefix,
    long Revision,
    IReadOnlyList<CheckReport.Service> Services,
    IReadOnlyList<CheckReport.HostPortClaim> HostPorts,
    IReadOnlyList<RegistryProblem> Problems)
{
    /// <summary>True when nothing was skipped or ignored.</summary>
    public bool Clean => Problems.Count == 0;

    public static CheckReport Create(string source, RegistryLayout layout, IEnumerable<RegistryKeyValue> keys, long revision)
    {
        var state = new RegistryState(layout);
        state.Load(keys, revision);
        var snapshot = state.Snapshot;
        var routes = RouteTable.Empty.Rebuild(snapshot);
        var routeProblems = routes.Failures.Select(f => new RegistryProblem(f.Key, layout.ServiceFolder(f.Key), f.Value));
        ImmutableArray<RegistryProblem> problems = [.. snapshot.Problems, .. routeProblems];

        var services = snapshot.Services.Values
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .Select(s => new Service(
                s.Name,
                ServiceParser.SchemeText(s.Scheme),
                [.. s.Hosts.Select(h => new Host(h.Id, h.Authority))],
                s.HostPort,
                s.Private,
                s.StripPath,
                routes.TryGet(s.Name, out _)))
            .ToList();
        return new CheckReport(source, layout.Prefix, revision, services, HostPortPlan(snapshot, layout), problems);
    }

    /// <summary>
    /// Every port some service asks for: who holds it (the snapshot's settled owner, the older key) and who
    /// lost it, or why nobody serves it.
    /// </summary>
    private static List<HostPortClaim> HostPortPlan(RegistrySnapshot snapshot, RegistryLayout layout)
    {
        var plan = new List<HostPortClaim>();
        foreach (var group in snapshot.Services.Values.Where(s => s.HostPort is not null).GroupBy(s => s.HostPort!.Value).OrderBy(g => g.Key))
        {
            var port = group.Key;
            snapshot.HostPorts.TryGetValue(port, out var winner);
            var losers = group.Select(s => s.Name).Where(n => n != winner).Order(StringComparer.Ordinal).ToList();
            var reason = layout.ReservedPorts.TryGetValue(port, out var option) ? $"the router's own port ({option})" : null;
            plan.Add(new HostPortClaim(port, winner, losers, reason));
        }

        return plan;
    }

    internal sealed record Service(string Name, string Scheme, IReadOnlyList<Host> Hosts, int? HostPort, bool Private, bool StripPath, bool Routed);

    internal sealed record Host(string Id, string Address);

    /// <param name="Winner">The service that gets the port; null when none does.</param>
    /// <param name="Ignored">Services that claim the port too and lose it (their host_port is ignored).</param>
    /// <param name="NotServed">Why nobody gets the port, or null.</param>
    internal sealed record HostPortClaim(int Port, string? Winner, IReadOnlyList<string> Ignored, string? NotServed);
}
