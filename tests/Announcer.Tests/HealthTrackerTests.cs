using Router.Announcer.Health;

namespace Router.Announcer.Tests;

public class HealthTrackerTests
{
    [Fact]
    public void Record_FirstPass_BecomesHealthy()
    {
        var tracker = new HealthTracker(3, initiallyHealthy: false);

        Assert.Equal(HealthTransition.StillUnhealthy, tracker.Record(false));
        Assert.False(tracker.IsHealthy);
        Assert.Equal(HealthTransition.BecameHealthy, tracker.Record(true));
        Assert.True(tracker.IsHealthy);
    }

    [Fact]
    public void Record_FailuresInARow_BecomeUnhealthyAtTheLimit()
    {
        var tracker = new HealthTracker(3, initiallyHealthy: true);

        Assert.Equal(HealthTransition.FailedBelowLimit, tracker.Record(false));
        Assert.Equal(HealthTransition.FailedBelowLimit, tracker.Record(false));
        Assert.True(tracker.IsHealthy);
        Assert.Equal(HealthTransition.BecameUnhealthy, tracker.Record(false));
        Assert.False(tracker.IsHealthy);
        Assert.Equal(HealthTransition.StillUnhealthy, tracker.Record(false));
    }

    [Fact]
    public void Record_PassBetweenFailures_ResetsTheCount()
    {
        var tracker = new HealthTracker(3, initiallyHealthy: true);

        tracker.Record(false);
        tracker.Record(false);
        Assert.Equal(HealthTransition.RecoveredBelowLimit, tracker.Record(true));
        tracker.Record(false);
        tracker.Record(false);

        Assert.True(tracker.IsHealthy);
        Assert.Equal(2, tracker.Failures);
    }

    [Fact]
    public void Record_PassAfterUnhealthy_IsHealthyAgain()
    {
        var tracker = new HealthTracker(1, initiallyHealthy: true);

        Assert.Equal(HealthTransition.BecameUnhealthy, tracker.Record(false));
        Assert.Equal(HealthTransition.BecameHealthy, tracker.Record(true));
        Assert.Equal(HealthTransition.None, tracker.Record(true));
    }
}
