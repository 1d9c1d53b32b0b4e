using Router.Registry.Model;

namespace Router.Registry;

/// <summary>The published registry: the current snapshot, the watcher's health, and change notification.</summary>
public interface IRegistrySource
{
    /// <summary>The latest snapshot; a plain read, safe from any thread.</summary>
    RegistrySnapshot Current { get; }

    RegistryStatus Status { get; }

    /// <summary>
    /// Called on the watcher's loop after each new snapshot is published, before the next change is read.
    /// Handlers must be quick; a handler that throws is logged and the others still run.
    /// </summary>
    event Action<RegistrySnapshot, RegistryChange>? Changed;
}
