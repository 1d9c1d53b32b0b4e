using System.Collections.Immutable;

namespace Router.Registry.Model;

/// <summary>One validated service. Bad hosts and bad optional keys are left out and listed in <see cref="Problems"/>.</summary>
public sealed record ServiceEntry
{
    /// <summary>The service name, lower-cased (names compare case-insensitively).</summary>
    public required string Name { get; init; }

    public required ServiceScheme Scheme { get; init; }

    /// <summary>Usable hosts, in etcd create-revision order.</summary>
    public ImmutableArray<ServiceHost> Hosts { get; init; } = [];

    /// <summary>The host_port this service asks for; whether it got it is <see cref="RegistrySnapshot.HostPorts"/>.</summary>
    public int? HostPort { get; init; }

    /// <summary>Create revision of the host_port key: the lower one wins a port two services claim.</summary>
    public long HostPortCreateRevision { get; init; }

    public bool Private { get; init; }

    public bool StripPath { get; init; }

    /// <summary>Problems of this service's keys (bad hosts, bad host_port, …).</summary>
    public ImmutableArray<RegistryProblem> Problems { get; init; } = [];

    /// <summary>True when the service is routed by HTTP on the shared port.</summary>
    public bool IsHttp => Scheme != ServiceScheme.Tcp;
}
