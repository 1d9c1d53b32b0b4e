using Router.Registry.Etcd;
using Router.Registry.Model;

namespace Router.Announcer.Options;

/// <summary>What the announcer registers, how it checks health and how it leaves; built by <see cref="CommandLine"/>.</summary>
internal sealed record AnnouncerOptions
{
    public const int DefaultTtlSeconds = 10;
    public const int MaxTtlSeconds = 3600;
    public const double MaxIntervalSeconds = 3600;
    public const double MaxDrainSeconds = 3600;

    /// <summary>Consecutive failed checks before the host is withdrawn: one lost probe is not an outage.</summary>
    public const int DefaultFailuresBeforeWithdraw = 3;

    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan DefaultDrain = TimeSpan.FromSeconds(5);

    /// <summary>Longest a single check may take; a check slower than this counts as failed.</summary>
    public static readonly TimeSpan MaxCheckTimeout = TimeSpan.FromSeconds(5);

    public required EtcdOptions Etcd { get; init; }

    /// <summary>The service name, lower-cased (names are compared case-insensitively).</summary>
    public required string Service { get; init; }

    public required string Instance { get; init; }

    /// <summary>The host value as written to etcd: <c>ip:port</c>, <c>[ipv6]:port</c> or <c>hostname:port</c>.</summary>
    public required string Address { get; init; }

    /// <summary>The host part of <see cref="Address"/> (without brackets), for the tcp check.</summary>
    public required string AddressHost { get; init; }

    public required int AddressPort { get; init; }

    public ServiceScheme Scheme { get; init; } = ServiceScheme.Http;

    public int? HostPort { get; init; }

    public bool Private { get; init; }

    public int TtlSeconds { get; init; } = DefaultTtlSeconds;

    public HealthCheckKind CheckKind { get; init; } = HealthCheckKind.None;

    /// <summary>The http(s) URL when <see cref="CheckKind"/> is <see cref="HealthCheckKind.Http"/>.</summary>
    public Uri? CheckUrl { get; init; }

    public TimeSpan Interval { get; init; } = DefaultInterval;

    public TimeSpan Drain { get; init; } = DefaultDrain;

    public int FailuresBeforeWithdraw { get; init; } = DefaultFailuresBeforeWithdraw;

    public string Prefix { get; init; } = Router.Registry.RegistryLayout.DefaultPrefix;

    /// <summary>A check gets the interval, at most <see cref="MaxCheckTimeout"/>.</summary>
    public TimeSpan CheckTimeout => Interval < MaxCheckTimeout ? Interval : MaxCheckTimeout;
}
