namespace Router.Registry.Model;

/// <summary>One etcd key as the registry keeps it: the raw bytes and etcd's revisions.</summary>
public sealed record RegistryKeyValue(string Key, ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision, long LeaseId = 0);
