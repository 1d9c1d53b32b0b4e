namespace Router.Announcer.Health;

/// <summary>
/// Whether the instance may receive traffic, as decided by <see cref="HealthMonitor"/>, with a task that completes on
/// the next change so the registration loop can wait for it without polling.
/// </summary>
internal sealed class HealthState
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _healthy;

    public HealthState(bool initiallyHealthy) => _healthy = initiallyHealthy;

    public bool IsHealthy => _healthy;

    /// <summary>Completes at the next change. Read it before <see cref="IsHealthy"/> so no change is missed.</summary>
    public Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Sets the state; returns true when it changed.</summary>
    public bool Set(bool healthy)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (_healthy == healthy)
            {
                return false;
            }

            _healthy = healthy;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
        return true;
    }
}
