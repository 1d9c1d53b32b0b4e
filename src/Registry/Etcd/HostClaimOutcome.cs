namespace Router.Registry.Etcd;

/// <summary>What a look at the host key found, and what the announcer does about it.</summary>
public enum HostClaimOutcome
{
    /// <summary>The key holds this announcer's address bound to its lease: nothing to do.</summary>
    Held,

    /// <summary>The key was missing or wrong in a way nobody else owns (no lease, or this lease): put it (back).</summary>
    Write,

    /// <summary>Another live lease holds the key with this announcer's address: the same registration, left alone.</summary>
    Shared,

    /// <summary>Another live lease holds the key with another address: that registration keeps it, this one waits.</summary>
    Conflict,
}
