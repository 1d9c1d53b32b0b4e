using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Announcer.Health;
using Router.Announcer.Options;
using Router.Registry;
using Router.Registry.Etcd;

namespace Router.Announcer.Registration;

/// <summary>
/// Keeps the host key in etcd exactly while the instance is healthy: registers at the first passing check, keeps the
/// lease alive, withdraws when the check fails, rides out etcd outages (retry with backoff, new lease when the old
/// one is gone). On shutdown it withdraws first, then waits <c>--drain</c> so routers finish in-flight requests
/// before the service itself is stopped. This is the lifecycle; the etcd side is <see cref="LeasedRegistration"/>.
/// </summary>
internal sealed partial class RegistrationService(
    LeasedRegistration registrar,
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

    /// <summary>The host key holds this address bound to <see cref="_lease"/>.</summary>
    private bool _registered;

    /// <summary>The other registration that holds the host key (shared or in conflict), as last seen.</summary>
    private HostClaim? _other;

    private bool _etcdDown;
    private DateTimeOffset _downSince;
    private bool _expiryReported;

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
        if (lease != 0 && !_registered && _other is { } other)
        {
            // The exit-visible end of a conflict: another registration holds the key; revoking this lease leaves it.
            Log.StoppingNotRegistered(logger, registrar.HostKey, other.HolderAddress, other.HolderLease, options.Address);
            await registrar.RevokeAsync(lease, WithdrawDeadline, cancellationToken).ConfigureAwait(false);
            _lease = 0;
        }
        else if (lease != 0)
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
        var backoff = new Backoff(FirstBackoff, etcdOptions.MaxReconnectBackoff);
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
                backoff.Reset();

                var outcome = await registrar.KeepAliveAsync(_lease, changed, VerifyAsync, cancellationToken).ConfigureAwait(false);
                if (outcome == KeepAliveOutcome.LeaseLost)
                {
                    OnLeaseLost();
                }
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && EtcdFailure.IsLeaseNotFound(e))
            {
                // The put named a lease etcd no longer has (expired during an outage, or etcd lost its data).
                OnLeaseLost();
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && EtcdFailure.IsTransient(e))
            {
                if (!_etcdDown)
                {
                    _etcdDown = true;
                    _downSince = time.GetUtcNow();
                    if (_registered)
                    {
                        Log.EtcdUnavailableRegistered(logger, EtcdFailure.Describe(e), registrar.HostKey, _lease, registrar.LeaseTtl);
                    }
                    else
                    {
                        Log.EtcdUnavailable(logger, EtcdFailure.Describe(e));
                    }
                }

                ReportProbableExpiry();
                await Task.Delay(backoff.Next(), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Writes the service keys, then the host key bound to a (new, if needed) lease, unless another registration
    /// holds the host key (see <see cref="HostKeyRule"/>).
    /// </summary>
    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        if (_lease == 0)
        {
            var (id, ttl) = await registrar.GrantLeaseAsync(cancellationToken).ConfigureAwait(false);
            _lease = id;
            Log.LeaseGranted(logger, id, ttl);
        }

        // Scheme first (inside the claim): a router that saw the host before the scheme would report the service as broken.
        var claim = await registrar.ClaimHostAsync(_lease, fresh: true, cancellationToken).ConfigureAwait(false);

        if (_etcdDown)
        {
            _etcdDown = false;
            _expiryReported = false;
            Log.EtcdBack(logger, (time.GetUtcNow() - _downSince).TotalSeconds);
        }

        Apply(claim);
    }

    /// <summary>Every keepalive period: the keys are put back if someone deleted or changed them.</summary>
    private async Task VerifyAsync(CancellationToken cancellationToken)
    {
        var claim = await registrar.ClaimHostAsync(_lease, fresh: false, cancellationToken).ConfigureAwait(false);
        Apply(claim);
    }

    /// <summary>Records what a claim found; each change of state is one log line.</summary>
    private void Apply(HostClaim claim)
    {
        switch (claim.Outcome)
        {
            case HostClaimOutcome.Held or HostClaimOutcome.Write:
                if (_other is { Outcome: HostClaimOutcome.Conflict } over)
                {
                    Log.ConflictOver(logger, registrar.HostKey, over.HolderAddress, over.HolderLease);
                }

                _other = null;
                if (!_registered)
                {
                    _registered = true;
                    Log.Registered(logger, registrar.HostKey, options.Address, _lease, claim.Outcome == HostClaimOutcome.Held ? "already in place" : "key was " + claim.Reason);
                }
                else if (claim.Outcome == HostClaimOutcome.Write)
                {
                    Log.HostKeyRestored(logger, registrar.HostKey, options.Address, _lease, claim.Reason);
                }

                break;
            case HostClaimOutcome.Shared:
                if (_other != claim)
                {
                    Log.Shared(logger, registrar.HostKey, options.Address, claim.HolderLease);
                }

                _other = claim;
                _registered = false;
                break;
            default:
                if (_other != claim)
                {
                    Log.Conflict(logger, registrar.HostKey, claim.HolderAddress, claim.HolderLease, options.Address, _lease);
                }

                _other = claim;
                _registered = false;
                break;
        }
    }

    private void OnLeaseLost()
    {
        Log.LeaseLost(logger, _lease, registrar.HostKey);
        _lease = 0;
        _registered = false;
    }

    /// <summary>
    /// Once per outage, when it has lasted longer than the lease's TTL since etcd last confirmed the lease: etcd
    /// has most likely dropped the lease and the host key with it (unless etcd itself was down, which restores
    /// leases with their full TTL). The key is put back, under a new lease if needed, when etcd answers.
    /// </summary>
    private void ReportProbableExpiry()
    {
        if (!_registered || _expiryReported || registrar.LeaseTtl <= 0)
        {
            return;
        }

        var silent = time.GetUtcNow() - registrar.LastAnswer;
        if (silent > TimeSpan.FromSeconds(registrar.LeaseTtl))
        {
            _expiryReported = true;
            Log.ProbablyExpired(logger, registrar.HostKey, _lease, silent.TotalSeconds, registrar.LeaseTtl);
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
        _other = null;
        if (_etcdDown)
        {
            _etcdDown = false;
            _expiryReported = false;
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
        [LoggerMessage(EventIds.RegistrationStarting, LogLevel.Information, "Announcing {HostKey} = {Address} (lease TTL {Ttl} s) through etcd {Endpoints}")]
        public static partial void Starting(ILogger logger, string hostKey, string address, int ttl, string endpoints);

        [LoggerMessage(EventIds.RegistrationLeaseGranted, LogLevel.Information, "Granted lease {Lease} with TTL {Ttl} s")]
        public static partial void LeaseGranted(ILogger logger, long lease, long ttl);

        [LoggerMessage(EventIds.RegistrationRegistered, LogLevel.Information, "Registered {HostKey} = {Address} with lease {Lease} ({Previous})")]
        public static partial void Registered(ILogger logger, string hostKey, string address, long lease, string previous);

        [LoggerMessage(EventIds.RegistrationWithdrawn, LogLevel.Warning, "Withdrew {HostKey}: revoked lease {Lease} because the instance is unhealthy")]
        public static partial void Withdrawn(ILogger logger, string hostKey, long lease);

        [LoggerMessage(EventIds.RegistrationLeaseLost, LogLevel.Warning, "Lease {Lease} is gone; registering {HostKey} again with a new lease")]
        public static partial void LeaseLost(ILogger logger, long lease, string hostKey);

        [LoggerMessage(EventIds.RegistrationEtcdUnavailable, LogLevel.Warning, "etcd unavailable ({Error}); retrying; nothing was registered")]
        public static partial void EtcdUnavailable(ILogger logger, string error);

        [LoggerMessage(EventId = EventIds.RegistrationEtcdUnavailableRegistered, Level = LogLevel.Warning, EventName = "EtcdUnavailable", Message = "etcd unavailable ({Error}); retrying; {HostKey} stays registered until lease {Lease} runs out, {Ttl} s after the last keepalive")]
        public static partial void EtcdUnavailableRegistered(ILogger logger, string error, string hostKey, long lease, long ttl);

        [LoggerMessage(EventIds.RegistrationProbablyExpired, LogLevel.Warning, "etcd unreachable for {Seconds:0.#} s, longer than the lease TTL ({Ttl} s): registration probably expired ({HostKey}, lease {Lease}); it is put back when etcd answers")]
        public static partial void ProbablyExpired(ILogger logger, string hostKey, long lease, double seconds, long ttl);

        [LoggerMessage(EventIds.RegistrationEtcdBack, LogLevel.Information, "etcd reachable again after {Seconds:0.#} s")]
        public static partial void EtcdBack(ILogger logger, double seconds);

        [LoggerMessage(EventIds.RegistrationEtcdBackUnhealthy, LogLevel.Information, "etcd reachable again; instance unhealthy, nothing registered")]
        public static partial void EtcdBackUnhealthy(ILogger logger);

        [LoggerMessage(EventIds.RegistrationHostKeyRestored, LogLevel.Warning, "Put {HostKey} = {Address} back with lease {Lease}: the key was {Reason}")]
        public static partial void HostKeyRestored(ILogger logger, string hostKey, string address, long lease, string reason);

        [LoggerMessage(EventIds.RegistrationConflict, LogLevel.Warning, "Conflict: {HostKey} is held by another registration, {HolderAddress} with lease {HolderLease}; this announcer has {Address} (lease {Lease}). The registration that holds the key keeps it; this one waits and registers when the key is gone")]
        public static partial void Conflict(ILogger logger, string hostKey, string holderAddress, long holderLease, string address, long lease);

        [LoggerMessage(EventIds.RegistrationConflictOver, LogLevel.Information, "Conflict over: {HostKey} no longer held by {HolderAddress} (lease {HolderLease})")]
        public static partial void ConflictOver(ILogger logger, string hostKey, string holderAddress, long holderLease);

        [LoggerMessage(EventIds.RegistrationShared, LogLevel.Information, "{HostKey} = {Address} is held by lease {HolderLease} of another announcer with the same address; left to it, put back here if it goes")]
        public static partial void Shared(ILogger logger, string hostKey, string address, long holderLease);

        [LoggerMessage(EventIds.RegistrationStoppingNotRegistered, LogLevel.Warning, "Stopping: {HostKey} is not this announcer's ({Address}): held by {HolderAddress} with lease {HolderLease}, left as it is")]
        public static partial void StoppingNotRegistered(ILogger logger, string hostKey, string holderAddress, long holderLease, string address);

        [LoggerMessage(EventIds.RegistrationWithdrawing, LogLevel.Information, "Stopping: withdrawing {HostKey} (revoking lease {Lease})")]
        public static partial void Withdrawing(ILogger logger, string hostKey, long lease);

        [LoggerMessage(EventIds.RegistrationWithdrawnOnStop, LogLevel.Information, "Stopping: withdrew {HostKey}")]
        public static partial void WithdrawnOnStop(ILogger logger, string hostKey);

        [LoggerMessage(EventIds.RegistrationNothingToWithdraw, LogLevel.Information, "Stopping: {HostKey} was not registered; nothing to withdraw")]
        public static partial void NothingToWithdraw(ILogger logger, string hostKey);

        [LoggerMessage(EventIds.RegistrationDraining, LogLevel.Information, "Draining for {DrainSeconds} s before exit")]
        public static partial void Draining(ILogger logger, double drainSeconds);

        [LoggerMessage(EventIds.RegistrationDrained, LogLevel.Information, "Drained; exiting")]
        public static partial void Drained(ILogger logger);

        [LoggerMessage(EventIds.RegistrationDrainCutShort, LogLevel.Warning, "Drain cut short by the shutdown timeout")]
        public static partial void DrainCutShort(ILogger logger);

        [LoggerMessage(EventIds.RegistrationCrashed, LogLevel.Critical, "Announcer loop failed")]
        public static partial void Crashed(ILogger logger, Exception exception);
    }
}
