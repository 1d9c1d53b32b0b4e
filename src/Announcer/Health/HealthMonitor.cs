using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Announcer.Options;

namespace Router.Announcer.Health;

/// <summary>
/// Runs the check every <c>--interval</c> and turns its results into <see cref="HealthState"/>: healthy at the first
/// pass, unhealthy after <see cref="AnnouncerOptions.FailuresBeforeWithdraw"/> failures in a row.
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
        while (!stoppingToken.IsCancellationRequested)
        {
            var result = await check.CheckAsync(options.CheckTimeout, stoppingToken).ConfigureAwait(false);
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

            await Task.Delay(options.Interval, time, stoppingToken).ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1000, LogLevel.Information, "Health check {Check} every {IntervalSeconds} s; withdraw after {Failures} failures in a row")]
        public static partial void Checking(ILogger logger, string check, double intervalSeconds, int failures);

        [LoggerMessage(1001, LogLevel.Information, "Health check {Check} passed: instance is healthy")]
        public static partial void Passed(ILogger logger, string check);

        [LoggerMessage(1002, LogLevel.Warning, "Health check {Check} failed {Failures} times in a row ({Reason}): instance is unhealthy")]
        public static partial void Failed(ILogger logger, string check, int failures, string reason);

        [LoggerMessage(1003, LogLevel.Warning, "Health check {Check} failed ({Failures} of {Limit}): {Reason}")]
        public static partial void FailedOnce(ILogger logger, string check, int failures, int limit, string reason);

        [LoggerMessage(1004, LogLevel.Information, "Health check passed again after {Failures} failure(s); instance stays registered")]
        public static partial void RecoveredBeforeWithdraw(ILogger logger, int failures);

        [LoggerMessage(1005, LogLevel.Information, "Health check {Check} not passing ({Reason}); waiting before registering")]
        public static partial void NotHealthy(ILogger logger, string check, string reason);
    }
}
