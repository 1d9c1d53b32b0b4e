using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Router.Announcer.Health;
using Router.Announcer.Options;
using Router.Registry.Etcd;
using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>The check schedule, on a fake clock: a check that never answers fails at the next tick.</summary>
public class HealthMonitorTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Check_NeverAnswers_FailsAtEachTickAndUnhealthyAtTheThird()
    {
        var time = new FakeTimeProvider();
        var check = new HangingCheck();
        var state = new HealthState(initiallyHealthy: true);
        using var monitor = new HealthMonitor(check, state, Options(), time, NullLogger<HealthMonitor>.Instance);
        await monitor.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => check.Started == 1, "the first check to start");

        for (var tick = 1; tick <= 3; tick++)
        {
            Assert.True(state.IsHealthy, $"unhealthy before tick {tick}");
            time.Advance(Interval);
            // The next check starts only after the overdue one was counted.
            await Wait.UntilAsync(() => check.Started == tick + 1, $"check {tick + 1} to start");
        }

        Assert.False(state.IsHealthy);
        await Wait.UntilAsync(() => check.Cancelled == 3, "the three overdue checks to be cancelled");
        await monitor.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Check_Answers_OneCheckPerInterval()
    {
        var time = new FakeTimeProvider();
        var check = new HangingCheck { Answer = true };
        var state = new HealthState(initiallyHealthy: false);
        using var monitor = new HealthMonitor(check, state, Options(), time, NullLogger<HealthMonitor>.Instance);
        await monitor.StartAsync(CancellationToken.None);

        await Wait.UntilAsync(() => state.IsHealthy, "the first pass");
        Assert.Equal(1, check.Started);
        time.Advance(Interval);
        await Wait.UntilAsync(() => check.Started == 2, "the second check");
        time.Advance(Interval);
        await Wait.UntilAsync(() => check.Started == 3, "the third check");

        Assert.True(state.IsHealthy);
        Assert.Equal(0, check.Cancelled);
        await monitor.StopAsync(CancellationToken.None);
    }

    private static AnnouncerOptions Options() => new()
    {
        Etcd = new EtcdOptions(),
        Service = "web",
        Instance = "1",
        Address = "127.0.0.1:9",
        AddressHost = "127.0.0.1",
        AddressPort = 9,
        Interval = Interval,
    };

    /// <summary>A check that passes at once (<see cref="Answer"/>) or never answers until cancelled.</summary>
    private sealed class HangingCheck : IHealthCheck
    {
        private int _started;
        private int _cancelled;

        public bool Answer { get; init; }

        public int Started => Volatile.Read(ref _started);

        public int Cancelled => Volatile.Read(ref _cancelled);

        public string Description => "test";

        public async Task<HealthCheckResult> CheckAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            if (Answer)
            {
                return HealthCheckResult.Pass;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return HealthCheckResult.Pass;
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref _cancelled);
                throw;
            }
        }
    }
}
