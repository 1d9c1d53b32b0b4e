using Router.Registry.Model;

namespace Router.Registry.Etcd;

/// <summary>
/// What one instance registers (<see cref="LeasedRegistration"/>): its address in the host key, bound to a lease of
/// <see cref="TtlSeconds"/>, and its service's keys (scheme, host_port, private), which outlive it.
/// </summary>
public sealed record HostRegistration
{
    /// <summary>The service name, lower-cased.</summary>
    public required string Service { get; init; }

    public required string Instance { get; init; }

    /// <summary>The host value as written to etcd: <c>ip:port</c>, <c>[ipv6]:port</c> or <c>hostname:port</c>.</summary>
    public required string Address { get; init; }

    public ServiceScheme Scheme { get; init; } = ServiceScheme.Http;

    public int? HostPort { get; init; }

    public bool Private { get; init; }

    public required int TtlSeconds { get; init; }
}
