using Router.Registry;
using Router.Registry.Model;

namespace Router.Tests;

/// <summary>A registry whose snapshots a unit test hands in, for the parts that only follow <see cref="IRegistrySource"/>.</summary>
internal sealed class FakeRegistry(RegistrySnapshot current) : IRegistrySource
{
    public RegistrySnapshot Current { get; private set; } = current;

    public RegistryStatus Status { get; } = new() { Endpoints = [] };

    public event Action<RegistrySnapshot, RegistryChange>? Changed;

    public void Raise(RegistrySnapshot snapshot, RegistryChange change)
    {
        Current = snapshot;
        Changed?.Invoke(snapshot, change);
    }
}
