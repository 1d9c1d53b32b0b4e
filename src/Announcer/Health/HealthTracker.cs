namespace Router.Announcer.Health;

/// <summary>
/// The rule that turns check results into a state: healthy at the first pass, unhealthy after a number of failures
/// in a row (one lost probe is not an outage; one good answer is enough to take traffic again).
/// </summary>
internal sealed class HealthTracker(int failuresBeforeUnhealthy, bool initiallyHealthy)
{
    public bool IsHealthy { get; private set; } = initiallyHealthy;

    /// <summary>Failures in a row so far.</summary>
    public int Failures { get; private set; }

    public HealthTransition Record(bool passed)
    {
        if (passed)
        {
            var hadFailures = Failures > 0;
            Failures = 0;
            if (!IsHealthy)
            {
                IsHealthy = true;
                return HealthTransition.BecameHealthy;
            }

            return hadFailures ? HealthTransition.RecoveredBelowLimit : HealthTransition.None;
        }

        Failures++;
        if (!IsHealthy)
        {
            return HealthTransition.StillUnhealthy;
        }

        if (Failures >= failuresBeforeUnhealthy)
        {
            IsHealthy = false;
            return HealthTransition.BecameUnhealthy;
        }

        return HealthTransition.FailedBelowLimit;
    }
}
