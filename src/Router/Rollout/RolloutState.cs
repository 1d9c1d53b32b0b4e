namespace Router.Rollout;

internal enum RolloutState
{
    Running,
    Done,
    Failed,
}
