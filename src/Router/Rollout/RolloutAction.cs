namespace Router.Rollout;

internal enum RolloutAction
{
    /// <summary>A new rollout to <c>--to</c>.</summary>
    Start,

    /// <summary>Continue the recorded rollout.</summary>
    Resume,

    /// <summary>Roll back to the recorded old version.</summary>
    Undo,

    /// <summary>Print the record.</summary>
    Status,
}
