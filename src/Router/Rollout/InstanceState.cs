namespace Router.Rollout;

/// <summary>The steps an instance goes through in a rollout, in order.</summary>
internal enum InstanceState
{
    /// <summary>An old instance that still serves.</summary>
    Serving,

    /// <summary>A new instance asked of the scheduler; waiting for it to run.</summary>
    Starting,

    /// <summary>Running, registered and up in the routers for --min-healthy: it counts as serving.</summary>
    Healthy,

    /// <summary>An old instance whose host key is gone; its requests drain.</summary>
    Withdrawn,

    /// <summary>An old instance stopped and removed from the scheduler.</summary>
    Stopped,

    /// <summary>A new instance that missed the deadline, stopped and removed.</summary>
    Failed,
}
