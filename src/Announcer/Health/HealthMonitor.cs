using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Announcer.Options;

namespace Router.Announcer.Health;

/// <summary>
/// Runs the check on a fixed schedule, one every <c>--interval</c>, and turns its results into
/// <see cref="HealthState"/>: healthy at the first pass, unhealthy after
/// <see cref="AnnouncerOptions.FailuresBeforeWithdraw"/> failures in a row. A check still running when the next one
/// is due counts as failed and is abandoned, so a backend that accepts connections and never answers is withdrawn
/// as fast as one that refuses them (within FailuresBeforeWithdraw + 1 intervals), not after as many timeouts
/// plus intervals.
/// </summary>
internal sealed partial class HealthMonitor(
    IHealthCheck check,
    HealthState state,
    AnnouncerOptions options,
    TimeProvider time,
    ILogger<HealthMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Checking(logger, check.Description, options.Interval.TotalSeconds, options.FailuresBeforeWithdraw);
        var tracker = new HealthTracker(options.FailuresBeforeWithdraw, state.IsHealthy);
        using var schedule = new PeriodicTimer(options.Interval, time);
        while (!stoppingToken.IsCancellationRequested)
        {
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var running = check.CheckAsync(options.CheckTimeout, probe.Token);
            var due = schedule.WaitForNextTickAsync(stoppingToken).AsTask();
            if (await Task.WhenAny(running, due).ConfigureAwait(false) == running)
            {
                Record(tracker, await running.ConfigureAwait(false));
                if (!await due.ConfigureAwait(false))
                {
                    return;
                }
            }
            else
            {
                if (!await due.ConfigureAwait(false))
                {
                    return;
                }

                // The next check is due and this one has not answered: that is a failed check, whatever it is
                // waiting for (a connect, the response head); it is cancelled, its late result is not wanted.
                await probe.CancelAsync().ConfigureAwait(false);
                Forget(running);
                Record(tracker, HealthCheckResult.Fail($"no answer before the next check was due ({options.Interval.TotalSeconds:0.###} s)"));
            }
        }
    }

    /// <summary>Observes an abandoned check so a late fault is not reported as unobserved.</summary>
    private static void Forget(Task<HealthCheckResult> running) =>
        running.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private void Record(HealthTracker tracker, HealthCheckResult result)
    {
        var failuresBefore = tracker.Failures;
        var transition = tracker.Record(result.Healthy);
        state.Set(tracker.IsHealthy);
        switch (transition)
        {
            case HealthTransition.BecameHealthy:
                Log.Passed(logger, check.Description);
                break;
            case HealthTransition.BecameUnhealthy:
                Log.Failed(logger, check.Description, tracker.Failures, result.Reason);
                break;
            case HealthTransition.FailedBelowLimit:
                Log.FailedOnce(logger, check.Description, tracker.Failures, options.FailuresBeforeWithdraw, result.Reason);
                break;
            case HealthTransition.RecoveredBelowLimit:
                Log.RecoveredBeforeWithdraw(logger, failuresBefore);
                break;
            case HealthTransition.StillUnhealthy when tracker.Failures == 1:
                // Said once while waiting for the first pass, not every interval.
                Log.NotHealthy(logger, check.Description, result.Reason);
                break;
            default:
                break;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.HealthChecking, LogLevel.Information, "Health check {Check} every {IntervalSeconds} s; withdraw after {Failures} failures in a row")]
        public static partial void Checking(ILogger logger, string check, double intervalSeconds, int failures);

        [LoggerMessage(EventIds.HealthPassed, LogLevel.Information, "Health check {Check} passed: instance is healthy")]
        public static partial void Passed(ILogger logger, string check);

        [LoggerMessage(EventIds.HealthFailed, LogLevel.Warning, "Health check {Check} failed {Failures} times in a row ({Reason}): instance is unhealthy")]
        public static partial void Failed(ILogger logger, string check, int failures, string reason);

        [LoggerMessage(EventIds.HealthFailedOnce, LogLevel.Warning, "Health check {Check} failed ({Failures} of {Limit}): {Reason}")]
        public static partial void FailedOnce(ILogger logger, string check, int failures, int limit, string reason);

        [LoggerMessage(EventIds.HealthRecoveredBeforeWithdraw, LogLevel.Information, "Health check passed again after {Failures} failure(s); instance stays registered")]
        public static partial void RecoveredBeforeWithdraw(ILogger logger, int failures);

        [LoggerMessage(EventIds.HealthNotHealthy, LogLevel.Information, "Health check {Check} not passing ({Reason}); waiting before registering")]
        public static partial void NotHealthy(ILogger logger, string check, string reason);
    }
}
