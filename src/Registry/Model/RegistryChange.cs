using System.Collections.Immutable;

namespace Router.Registry.Model;

/// <summary>What one applied registry update changed, for logs and for consumers that update incrementally.</summary>
public sealed record RegistryChange(long Revision, ImmutableArray<string> Added, ImmutableArray<string> Removed, ImmutableArray<string> Changed, bool FullReload)
{
    /// <summary>
    /// <see cref="System.Diagnostics.Stopwatch"/> timestamp of when etcd's answer carrying this change arrived
    /// (0 for a saved registry): the start of the change-to-live time.
    /// </summary>
    public long ReceivedTimestamp { get; init; }

    public bool IsEmpty => Added.IsEmpty && Removed.IsEmpty && Changed.IsEmpty;

    /// <summary>Every service this change added, removed or changed: what an incremental consumer looks at again.</summary>
    public IEnumerable<string> Touched => Added.Concat(Removed).Concat(Changed);
}
