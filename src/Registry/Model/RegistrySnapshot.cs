using System.Collections.Immutable;

namespace Router.Registry.Model;

/// <summary>
/// An immutable, validated view of the whole registry at one etcd revision. A new snapshot is built for
/// every applied change and published atomically; readers never see a half-applied change.
/// </summary>
public sealed record RegistrySnapshot
{
    public static RegistrySnapshot Empty { get; } = new();

    /// <summary>The etcd revision this snapshot reflects (0 before the first read).</summary>
    public long Revision { get; init; }

    /// <summary>Valid services by lower-cased name. Services whose scheme or name is bad are not here.</summary>
    public ImmutableDictionary<string, ServiceEntry> Services { get; init; } = ImmutableDictionary<string, ServiceEntry>.Empty;

    /// <summary>Which service owns each host_port, after conflicts were settled by create revision.</summary>
    public ImmutableSortedDictionary<int, string> HostPorts { get; init; } = ImmutableSortedDictionary<int, string>.Empty;

    /// <summary>Every problem: skipped services, skipped hosts, bad optional keys, lost host_port claims.</summary>
    public ImmutableArray<RegistryProblem> Problems { get; init; } = [];

    public bool TryGetService(string name, out ServiceEntry service)
    {
        if (Services.TryGetValue(name, out var found))
        {
            service = found;
            return true;
        }

        service = null!;
        return false;
    }
}
