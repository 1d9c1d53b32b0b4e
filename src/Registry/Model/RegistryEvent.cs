namespace Router.Registry.Model;

/// <summary>One change from the etcd watch: a put of <see cref="KeyValue"/> or the delete of its key.</summary>
public readonly record struct RegistryEvent(bool IsDelete, RegistryKeyValue KeyValue);
