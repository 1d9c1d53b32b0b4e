using System.Net;
using Router.Registry;
using Router.Registry.Etcd;

namespace Router.Rollout;

/// <summary>What <c>router rollout NAME …</c> was asked to do.</summary>
internal sealed record RolloutOptions
{
    public required string Service { get; init; }

    /// <summary>The version to roll out (<c>--to</c>, or <c>--image</c> for a unit's <c>*_IMAGE</c>); null for --resume/--undo/--status.</summary>
    public string? To { get; init; }

    public RolloutAction Action { get; init; } = RolloutAction.Start;

    /// <summary>New instances started ahead of withdrawing old ones; 0 forces the in-place mode.</summary>
    public int Surge { get; init; } = 1;

    /// <summary>How long a new instance must stay reachable through the router before it counts as ready.</summary>
    public TimeSpan MinHealthy { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a new instance may take to become ready before it is stopped and the rollout fails.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>After an old instance left every router: time for its requests in flight to finish.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>TTL of the lock's lease: how long a killed rollout keeps others out.</summary>
    public int LockTtlSeconds { get; init; } = 15;

    /// <summary>fleet's API: <c>unix:/var/run/fleet.sock</c> or an http URL.</summary>
    public string? Fleet { get; init; }

    /// <summary>The process scheduler's folder (unit.json + instance state); development and tests.</summary>
    public string? Processes { get; init; }

    /// <summary>Admin endpoints of the routers whose view decides "reachable through the router".</summary>
    public IReadOnlyList<IPEndPoint> RouterAdmins { get; init; } = [new IPEndPoint(IPAddress.Loopback, 9090)];

    public EtcdOptions Etcd { get; init; } = new();

    public string Prefix { get; init; } = RegistryLayout.DefaultPrefix;

    /// <summary>Where locks and records live: outside the registry prefix, so routers never read them.</summary>
    public string RolloutPrefix { get; init; } = "/rollouts";

    /// <summary>JSON lines even on a terminal.</summary>
    public bool Json { get; init; }
}
