using Router.Dns;
using Router.Registry;
using Router.Registry.Model;
using Router.Registry.Validation;
using Router.Routing;
using Router.Tcp;
using Router.Tls;

namespace Router.Admin;

/// <summary>The JSON document of <c>GET /status</c>.</summary>
internal sealed record StatusReport(
    StatusReport.EtcdStatus Etcd,
    bool Ready,
    bool Draining,
    IReadOnlyList<StatusReport.ServiceStatus> Services,
    IReadOnlyList<PortListenerStatus> Listeners,
    IReadOnlyList<RegistryProblem> Problems)
{
    /// <summary>The DNS responder (binding, upstreams, cache, answers); null with <c>--dns off</c>.</summary>
    public DnsReport? Dns { get; init; }

    /// <summary>The HTTPS certificates (file, names, expiry), the one expiring first first; null without <c>--https</c>.</summary>
    public IReadOnlyList<CertificateInfo>? Certificates { get; init; }

    public static StatusReport Create(IRegistrySource registry, RouteTableHolder routes, HostPortManager ports, DrainState drain, TimeProvider time, TlsStatus tls)
    {
        var table = routes.Current;
        var status = registry.Status;
        var snapshot = registry.Current;
        var now = time.GetUtcNow();
        var services = table.Routes
            .OrderBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => new ServiceStatus(
                r.Name,
                ServiceParser.SchemeText(r.Entry.Scheme),
                r.Entry.HostPort,
                r.Entry.HostPort is { } port && snapshot.HostPorts.TryGetValue(port, out var owner) && owner == r.Name,
                r.Entry.Private,
                r.Entry.StripPath,
                [.. r.Destinations.Select(d => HostStatus.Create(d, time))]))
            .ToList();

        return new StatusReport(
            new EtcdStatus(
                [.. status.Endpoints.Select(e => e.ToString())],
                status.CurrentEndpoint?.ToString(),
                status.Connected,
                status.Revision,
                status.LastSync,
                status.LastSync is { } sync ? Math.Round((now - sync).TotalSeconds, 3) : null,
                status.LastError),
            status.Ready,
            drain.Draining,
            services,
            ports.Listeners,
            [.. snapshot.Problems, .. routes.Problems, .. ports.Problems, .. tls.Problems])
        {
            Certificates = tls.Certificates,
        };
    }

    /// <param name="TableAgeSeconds">Seconds since the table was last known to match etcd.</param>
    internal sealed record EtcdStatus(IReadOnlyList<string> Endpoints, string? Current, bool Connected, long Revision, DateTimeOffset? LastSync, double? TableAgeSeconds, string? LastError);

    internal sealed record ServiceStatus(string Name, string Scheme, int? HostPort, bool HostPortOwned, bool Private, bool StripPath, IReadOnlyList<HostStatus> Hosts);

    internal sealed record HostStatus(string Id, string Address, string Health, int ConsecutiveFailures, DateTimeOffset? SetAsideUntil)
    {
        public static HostStatus Create(Destination destination, TimeProvider time)
        {
            var until = destination.SetAsideUntil(time);
            return new HostStatus(destination.Host.Id, destination.Host.Authority, until is null ? "up" : "set-aside", destination.ConsecutiveFailures, until);
        }
    }
}
