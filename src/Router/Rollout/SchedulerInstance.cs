namespace Router.Rollout;

/// <param name="Number">The instance number N of NAME@N.</param>
/// <param name="Version">What it runs (the process unit's {version}, a fleet unit's *_IMAGE).</param>
/// <param name="Running">The scheduler says both the service and its sidekick run.</param>
/// <param name="Detail">The scheduler's own words for the state, for progress lines.</param>
internal sealed record SchedulerInstance(int Number, string Version, bool Running, string Detail);
