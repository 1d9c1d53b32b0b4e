using System.Collections.Immutable;

namespace Router.Registry.Model;

/// <summary>What one applied registry update changed, for logs and for consumers that update incrementally.</summary>
public sealed record RegistryChange(long Revision, ImmutableArray<string> Added, ImmutableArray<string> Removed, ImmutableArray<string> Changed, bool FullReload)
{
    public bool IsEmpty => Added.IsEmpty && Removed.IsEmpty && Changed.IsEmpty;
}
