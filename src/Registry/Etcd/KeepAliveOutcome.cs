namespace Router.Registry.Etcd;

/// <summary>Why a keepalive session ended without an etcd failure.</summary>
public enum KeepAliveOutcome
{
    /// <summary>The health state changed: the caller decides whether to stay registered.</summary>
    HealthChanged,

    /// <summary>etcd answered with TTL 0: the lease (and the key bound to it) is gone.</summary>
    LeaseLost,
}
