using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Routing;

namespace Router.Hosting;

/// <summary>
/// The first step of a graceful stop: <c>/readyz</c> and the load balancer's <c>/_router/healthz</c> turn 503
/// while the listeners still accept for <c>--shutdown-delay</c>, so the balancer takes the node out before
/// anything is refused. Then the listeners stop and requests in flight drain.
/// </summary>
internal sealed partial class ShutdownDelay(DrainOptions options, DrainState drain, TimeProvider time, ILogger<ShutdownDelay> logger) : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        drain.Start();
        if (options.ShutdownDelay <= TimeSpan.Zero)
        {
            return;
        }

        Log.Delaying(logger, options.ShutdownDelay.TotalSeconds);
        try
        {
            await Task.Delay(options.ShutdownDelay, time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventIds.ShutdownDelaying, LogLevel.Information, "Stopping: not ready any more, still accepting for {DelaySeconds} s before the drain")]
        public static partial void Delaying(ILogger logger, double delaySeconds);
    }
}
