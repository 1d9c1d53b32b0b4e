using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Announcer.Health;
using Router.Announcer.Options;
using Router.Registry.Etcd;

namespace Router.Announcer.Registration;

/// <summary>
/// Keeps the host key in etcd exactly while the instance is healthy: registers at the first passing check, keeps the
/// lease alive, withdraws when the check fails, rides out etcd outages (retry with backoff, new lease when the old
/// one is gone). On shutdown it withdraws first, then waits <c>--drain</c> so routers finish in-flight requests
/// before the service itself is stopped.
/// </summary>
internal sealed partial class RegistrationService(
    EtcdRegistrar registrar,
    HealthState health,
    AnnouncerOptions options,
    EtcdOptions etcdOptions,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<RegistrationService> logger) : BackgroundService
{
    /// <summary>How long the shutdown withdraw may try to reach etcd before giving up on it.</summary>
    public static readonly TimeSpan WithdrawDeadline = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    // Written by the loop, read by StopAsync after the loop has ended.
    private long _lease;
    private bool _registered;
    private bool _etcdDown;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Starting(logger, registrar.HostKey, options.Address, options.TtlSeconds, string.Join(",", etcdOptions.Endpoints));
        try
        {
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: whatever the call in flight reported (OperationCanceled, RpcException Cancelled, or
            // Unavailable from an etcd that is down) is the stop itself, not a crash; StopAsync withdraws.
        }
        catch (Exception e)
        {
            // A bug, not an etcd fault (those are retried): stop, withdraw on the way out, exit non-zero.
            Log.Crashed(logger, e);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        var lease = _lease;
        if (lease != 0)
        {
            Log.Withdrawing(logger, registrar.HostKey, lease);
            if (await registrar.RevokeAsync(lease, WithdrawDeadline, cancellationToken).ConfigureAwait(false))
            {
                _lease = 0;
                Log.WithdrawnOnStop(logger, registrar.HostKey);
            }
        }
        else
        {
            Log.NothingToWithdraw(logger, registrar.HostKey);
        }

        Log.Draining(logger, options.Drain.TotalSeconds);
        try
        {
            await Task.Delay(options.Drain, time, cancellationToken).ConfigureAwait(false);
            Log.Drained(logger);
        }
        catch (OperationCanceledException)
        {
            Log.DrainCutShort(logger);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = FirstBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Taken before the state is read, so a change in between still wakes the waits below.
            var changed = health.Changed;
            try
            {
                if (!health.IsHealthy)
                {
                    await WithdrawAsync(cancellationToken).ConfigureAwait(false);
                    await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await RegisterAsync(cancellationToken).ConfigureAwait(false);
                backoff = FirstBackoff;

                var outcome = await registrar.KeepAliveAsync(_lease, changed, cancellationToken).ConfigureAwait(false);
                if (outcome == KeepAliveOutcome.LeaseLost)
                {
                    Log.LeaseLost(logger, _lease, registrar.HostKey);
                    _lease = 0;
                    _registered = false;
                }
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && EtcdFailure.IsLeaseNotFound(e))
            {
                // The put named a lease etcd no longer has (expired during an outage, or etcd lost its data).
                Log.LeaseLost(logger, _lease, registrar.HostKey);
                _lease = 0;
                _registered = false;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && EtcdFailure.IsTransient(e))
            {
                if (!_etcdDown)
                {
                    _etcdDown = true;
                    Log.EtcdUnavailable(logger, EtcdFailure.Describe(e), _registered);
                }

                await Task.Delay(backoff, time, cancellationToken).ConfigureAwait(false);
                var doubled = backoff * 2;
                backoff = doubled < etcdOptions.MaxReconnectBackoff ? doubled : etcdOptions.MaxReconnectBackoff;
            }
        }
    }

    /// <summary>Writes the service keys, then the host key bound to a (new, if needed) lease.</summary>
    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        if (_lease == 0)
        {
            var (id, ttl) = await registrar.GrantLeaseAsync(cancellationToken).ConfigureAwait(false);
            _lease = id;
            Log.LeaseGranted(logger, id, ttl);
        }

        // Scheme first: a router that saw the host before the scheme would report the service as broken.
        await registrar.EnsureServiceKeysAsync(cancellationToken).ConfigureAwait(false);
        await registrar.PutHostAsync(_lease, cancellationToken).ConfigureAwait(false);

        if (_etcdDown)
        {
            _etcdDown = false;
            Log.EtcdBack(logger, registrar.HostKey, _lease);
        }

        if (!_registered)
        {
            _registered = true;
            Log.Registered(logger, registrar.HostKey, options.Address, _lease);
        }
    }

    private async Task WithdrawAsync(CancellationToken cancellationToken)
    {
        if (_lease == 0)
        {
            return;
        }

        var lease = _lease;
        if (!await registrar.RevokeAsync(lease, etcdOptions.CallTimeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"could not revoke lease {lease}");
        }

        _lease = 0;
        if (_etcdDown)
        {
            _etcdDown = false;
            Log.EtcdBackUnhealthy(logger);
        }

        if (_registered)
        {
            _registered = false;
            Log.Withdrawn(logger, registrar.HostKey, lease);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1200, LogLevel.Information, "Announcing {HostKey} = {Address} (lease TTL {Ttl} s) through etcd {Endpoints}")]
        public static partial void Starting(ILogger logger, string hostKey, string address, int ttl, string endpoints);

        [LoggerMessage(1201, LogLevel.Information, "Granted lease {Lease} with TTL {Ttl} s")]
        public static partial void LeaseGranted(ILogger logger, long lease, long ttl);

        [LoggerMessage(1202, LogLevel.Information, "Registered {HostKey} = {Address} with lease {Lease}")]
        public static partial void Registered(ILogger logger, string hostKey, string address, long lease);

        [LoggerMessage(1203, LogLevel.Warning, "Withdrew {HostKey}: revoked lease {Lease} because the instance is unhealthy")]
        public static partial void Withdrawn(ILogger logger, string hostKey, long lease);

        [LoggerMessage(1204, LogLevel.Warning, "Lease {Lease} is gone; registering {HostKey} again with a new lease")]
        public static partial void LeaseLost(ILogger logger, long lease, string hostKey);

        [LoggerMessage(1205, LogLevel.Warning, "etcd unavailable ({Error}); retrying (registered before: {Registered})")]
        public static partial void EtcdUnavailable(ILogger logger, string error, bool registered);

        [LoggerMessage(1206, LogLevel.Information, "etcd reachable again; {HostKey} is registered with lease {Lease}")]
        public static partial void EtcdBack(ILogger logger, string hostKey, long lease);

        [LoggerMessage(1207, LogLevel.Information, "etcd reachable again; instance unhealthy, nothing registered")]
        public static partial void EtcdBackUnhealthy(ILogger logger);

        [LoggerMessage(1210, LogLevel.Information, "Stopping: withdrawing {HostKey} (revoking lease {Lease})")]
        public static partial void Withdrawing(ILogger logger, string hostKey, long lease);

        [LoggerMessage(1211, LogLevel.Information, "Stopping: withdrew {HostKey}")]
        public static partial void WithdrawnOnStop(ILogger logger, string hostKey);

        [LoggerMessage(1212, LogLevel.Information, "Stopping: {HostKey} was not registered; nothing to withdraw")]
        public static partial void NothingToWithdraw(ILogger logger, string hostKey);

        [LoggerMessage(1213, LogLevel.Information, "Draining for {DrainSeconds} s before exit")]
        public static partial void Draining(ILogger logger, double drainSeconds);

        [LoggerMessage(1214, LogLevel.Information, "Drained; exiting")]
        public static partial void Drained(ILogger logger);

        [LoggerMessage(1215, LogLevel.Warning, "Drain cut short by the shutdown timeout")]
        public static partial void DrainCutShort(ILogger logger);

        [LoggerMessage(1220, LogLevel.Critical, "Announcer loop failed")]
        public static partial void Crashed(ILogger logger, Exception exception);
    }
}
