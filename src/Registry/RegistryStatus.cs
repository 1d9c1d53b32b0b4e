namespace Router.Registry;

/// <summary>What the watcher knows about its link to etcd, for the admin API.</summary>
public sealed record RegistryStatus
{
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    public Uri? CurrentEndpoint { get; init; }

    public bool Connected { get; init; }

    /// <summary>True once a full read of the registry has been applied.</summary>
    public bool Ready { get; init; }

    public long Revision { get; init; }

    /// <summary>When the snapshot was last known to match etcd (a read, an event or a progress notice).</summary>
    public DateTimeOffset? LastSync { get; init; }

    public string? LastError { get; init; }
}
