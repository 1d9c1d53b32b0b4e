namespace Router.Rollout;

/// <summary>The rollout stopped for a recorded reason (deadline missed, scheduler error).</summary>
internal sealed class RolloutFailedException(string message) : Exception(message);
