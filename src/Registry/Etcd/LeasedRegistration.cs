using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Mvccpb;
using Router.Registry.Validation;

namespace Router.Registry.Etcd;

/// <summary>
/// One instance's registration in etcd (the announcer's): grant a lease, write the service keys and the host key,
/// keep the lease alive over the raw keepalive stream (dotnet-etcd's helper does not reconnect), notice the lease
/// gone, revoke it. Failures surface as exceptions (<see cref="EtcdFailure"/> says which are etcd being away); the
/// caller decides about retries and about when to be registered at all (health).
/// </summary>
public sealed partial class LeasedRegistration
{
    /// <summary>The least time a keepalive answer is waited for, however short the TTL.</summary>
    private static readonly TimeSpan MinAnswerWait = TimeSpan.FromSeconds(1);

    /// <summary>Compare-and-put attempts on a host key that others keep changing before the claim gives up for now.</summary>
    private const int MaxClaimAttempts = 5;

    /// <summary>Pause between revoke attempts, so a refused connection does not spin.</summary>
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    private readonly EtcdConnection _etcd;
    private readonly HostRegistration _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly (string Key, string Value, bool PresenceOnly)[] _serviceKeys;

    /// <summary>Service keys found with another value during verification, and that value: each is reported once.</summary>
    private readonly Dictionary<string, string> _reportedDifferences = new(StringComparer.Ordinal);

    public LeasedRegistration(EtcdConnection etcd, HostRegistration options, RegistryLayout layout, TimeProvider time, ILogger<LeasedRegistration> logger)
    {
        _etcd = etcd;
        _options = options;
        _time = time;
        _logger = logger;
        HostKey = layout.Host(options.Service, options.Instance);

        var keys = new List<(string, string, bool)> { (layout.Scheme(options.Service), ServiceParser.SchemeText(options.Scheme), false) };
        if (options.HostPort is { } hostPort)
        {
            keys.Add((layout.HostPort(options.Service), hostPort.ToString(System.Globalization.CultureInfo.InvariantCulture), false));
        }

        if (options.Private)
        {
            // Presence is what counts; an existing value of any kind already says "private".
            keys.Add((layout.Private(options.Service), "true", true));
        }

        _serviceKeys = [.. keys];
    }

    public string HostKey { get; }

    /// <summary>When etcd last confirmed the lease alive (a grant or a keepalive answer).</summary>
    public DateTimeOffset LastAnswer { get; private set; }

    /// <summary>The lease's TTL as etcd last stated it.</summary>
    public long LeaseTtl { get; private set; }

    /// <summary>Grants a lease of <see cref="HostRegistration.TtlSeconds"/>; returns its id and the TTL etcd granted (it may raise short ones).</summary>
    public async Task<(long Id, long Ttl)> GrantLeaseAsync(CancellationToken cancellationToken)
    {
        var response = await _etcd.CallAsync(
            (c, o) => c.Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = _options.TtlSeconds }, o).ResponseAsync,
            cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(response.Error))
        {
            throw new RpcException(new Status(StatusCode.Unknown, "lease grant: " + response.Error));
        }

        LastAnswer = _time.GetUtcNow();
        LeaseTtl = response.TTL;
        return (response.ID, response.TTL);
    }

    /// <summary>
    /// Looks at the host key and the service keys (one read, one revision) and puts back what is not as this
    /// announcer registers it; see <see cref="HostKeyRule"/> for who owns the host key. <paramref name="fresh"/> is a
    /// new registration (start, health regained, new lease, etcd back): it also rewrites service keys that differ and
    /// takes over its own address from another lease. Otherwise (the check every keepalive period) a different
    /// service key value is reported, not fought over: another instance started with other options would
    /// otherwise rewrite it every period, and so would this one. The host key is written with a compare on the
    /// revision read, so two announcers never both believe they hold it.
    /// </summary>
    public async Task<HostClaim> ClaimHostAsync(long lease, bool fresh, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var read = await ReadKeysAsync(cancellationToken).ConfigureAwait(false);
            var host = read[0];
            var value = host?.Value.ToStringUtf8();
            var (outcome, reason) = HostKeyRule.Decide(value, host?.Lease ?? 0, _options.Address, lease, fresh);
            if (outcome == HostClaimOutcome.Conflict)
            {
                // The service keys belong to the registration that holds the host key: left as they are.
                return new HostClaim(outcome, HolderAddress: ServiceParser.Printable(value!), HolderLease: host!.Lease);
            }

            await EnsureServiceKeysAsync(read, fresh, cancellationToken).ConfigureAwait(false);
            switch (outcome)
            {
                case HostClaimOutcome.Held:
                    return new HostClaim(outcome);
                case HostClaimOutcome.Shared:
                    return new HostClaim(outcome, HolderAddress: _options.Address, HolderLease: host!.Lease);
                default:
                    if (await PutHostIfUnchangedAsync(lease, host?.ModRevision ?? 0, cancellationToken).ConfigureAwait(false))
                    {
                        return new HostClaim(outcome, reason);
                    }

                    if (attempt >= MaxClaimAttempts)
                    {
                        throw new IOException($"{HostKey} changed {attempt} times while it was being put");
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// Keeps <paramref name="lease"/> alive until <paramref name="stop"/> completes (health changed) or etcd says the
    /// lease is gone, and runs <paramref name="verify"/> once every keepalive period. A broken stream, or an answer
    /// slower than the keepalive period, throws: the caller reconnects.
    /// </summary>
    public async Task<KeepAliveOutcome> KeepAliveAsync(long lease, Task stop, Func<CancellationToken, Task> verify, CancellationToken cancellationToken)
    {
        var endpoint = _etcd.CurrentEndpoint;
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var options = await _etcd.CallOptionsAsync(timeout: null, session.Token).ConfigureAwait(false);
        try
        {
            using var call = _etcd.Lease.LeaseKeepAlive(options);
            var period = Period(_options.TtlSeconds);
            while (true)
            {
                await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }, session.Token).ConfigureAwait(false);

                using var read = CancellationTokenSource.CreateLinkedTokenSource(session.Token);
                // An answer slower than a period would leave too little of the TTL; reconnect instead.
                read.CancelAfter(period < MinAnswerWait ? MinAnswerWait : period);
                bool more;
                try
                {
                    more = await call.ResponseStream.MoveNext(read.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (read.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                    && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
                {
                    throw new TimeoutException($"no keepalive answer from {endpoint} within {period.TotalSeconds:0.##} s", e);
                }

                if (!more)
                {
                    throw new IOException($"etcd {endpoint} closed the keepalive stream");
                }

                var answer = call.ResponseStream.Current;
                if (answer.TTL <= 0)
                {
                    return KeepAliveOutcome.LeaseLost;
                }

                LastAnswer = _time.GetUtcNow();
                LeaseTtl = answer.TTL;
                period = Period(answer.TTL);
                if (await WaitAsync(stop, period, cancellationToken).ConfigureAwait(false))
                {
                    return KeepAliveOutcome.HealthChanged;
                }

                await verify(session.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && EtcdFailure.IsTransient(e) && !EtcdFailure.IsLeaseNotFound(e))
        {
            _etcd.NoteFailure(e, endpoint);
            throw;
        }
        finally
        {
            await session.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Revokes the lease, which deletes the host key with it in one step (and never a key another owner wrote since).
    /// Made with WaitForReady and a deadline, so it also goes through while the channel is reconnecting; every
    /// endpoint is tried until the deadline. Returns false when etcd could not be reached in time.
    /// </summary>
    public async Task<bool> RevokeAsync(long lease, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = _time.GetUtcNow() + deadline;
        Exception? last = null;
        while (_time.GetUtcNow() < until && !cancellationToken.IsCancellationRequested)
        {
            var endpoint = _etcd.CurrentEndpoint;
            var remaining = until - _time.GetUtcNow();
            var attempt = remaining < _etcd.Options.CallTimeout ? remaining : _etcd.Options.CallTimeout;
            try
            {
                var options = await _etcd.CallOptionsAsync(attempt, cancellationToken).ConfigureAwait(false);
                await _etcd.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, options.WithWaitForReady()).ResponseAsync.ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (EtcdFailure.IsLeaseNotFound(e))
            {
                // Expired or revoked already: the key went with it.
                return true;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && EtcdFailure.IsTransient(e))
            {
                last = e;
                _etcd.NoteFailure(e, endpoint);
                await Task.Delay(RetryPause, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        if (last is not null)
        {
            Log.RevokeFailed(_logger, lease, EtcdFailure.Describe(last));
        }

        return false;
    }

    /// <summary>Keepalive every TTL/3: two keepalives may be lost before the lease expires.</summary>
    internal static TimeSpan Period(long ttlSeconds) => TimeSpan.FromSeconds(Math.Max(1, ttlSeconds) / 3.0);

    /// <summary>The host key, then each service key, as of one revision; null where a key is missing.</summary>
    private async Task<KeyValue?[]> ReadKeysAsync(CancellationToken cancellationToken)
    {
        var request = new TxnRequest();
        request.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(HostKey) } });
        foreach (var (key, _, _) in _serviceKeys)
        {
            request.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(key) } });
        }

        var response = await _etcd.CallAsync((c, o) => c.Kv.TxnAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return [.. response.Responses.Select(r => r.ResponseRange.Kvs.Count == 0 ? null : r.ResponseRange.Kvs[0])];
    }

    /// <summary>
    /// Writes <c>scheme</c> (and <c>host_port</c>, <c>private</c> when given) when missing, and when different if
    /// <paramref name="rewriteDifferent"/>: they describe the service, not this instance, so they are plain keys
    /// without a lease. <paramref name="read"/> is the result of <see cref="ReadKeysAsync"/>.
    /// </summary>
    private async Task EnsureServiceKeysAsync(KeyValue?[] read, bool rewriteDifferent, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _serviceKeys.Length; i++)
        {
            var (key, value, presenceOnly) = _serviceKeys[i];
            var old = read[i + 1]?.Value.ToStringUtf8();
            if (old is not null && (presenceOnly || old.Trim() == value))
            {
                _reportedDifferences.Remove(key);
                continue;
            }

            if (old is not null && !rewriteDifferent)
            {
                if (!_reportedDifferences.TryGetValue(key, out var reported) || reported != old)
                {
                    _reportedDifferences[key] = old;
                    Log.ServiceKeyDiffers(_logger, key, ServiceParser.Printable(old), value);
                }

                continue;
            }

            await PutAsync(key, value, lease: 0, cancellationToken).ConfigureAwait(false);
            _reportedDifferences.Remove(key);
            Log.ServiceKeyWritten(_logger, key, value, old is null ? "(missing)" : ServiceParser.Printable(old));
        }
    }

    /// <summary>Puts the host key bound to <paramref name="lease"/> if it is still as read (mod revision, 0: absent).</summary>
    private async Task<bool> PutHostIfUnchangedAsync(long lease, long modRevision, CancellationToken cancellationToken)
    {
        var key = ByteString.CopyFromUtf8(HostKey);
        var request = new TxnRequest();
        request.Compare.Add(modRevision == 0
            ? new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
            : new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = modRevision });
        request.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(_options.Address), Lease = lease } });
        var response = await _etcd.CallAsync((c, o) => c.Kv.TxnAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return response.Succeeded;
    }

    private async Task PutAsync(string key, string value, long lease, CancellationToken cancellationToken)
    {
        await _etcd.CallAsync(
            (c, o) => c.Kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), Lease = lease }, o).ResponseAsync,
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> WaitAsync(Task signal, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, _time, cts.Token);
        var first = await Task.WhenAny(signal, delay).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return first == signal;
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.LeaseServiceKeyWritten, LogLevel.Information, "Wrote {Key} = {Value} (was {Old})")]
        public static partial void ServiceKeyWritten(ILogger logger, string key, string value, string old);

        [LoggerMessage(EventIds.LeaseServiceKeyDiffers, LogLevel.Warning, "{Key} = {Value}, not {Expected} as this announcer was started with; left as it is (written by hand or by an instance started with other options)")]
        public static partial void ServiceKeyDiffers(ILogger logger, string key, string value, string expected);

        [LoggerMessage(EventIds.LeaseRevokeFailed, LogLevel.Warning, "Could not revoke lease {Lease}: {Error}; the host key expires with the lease")]
        public static partial void RevokeFailed(ILogger logger, long lease, string error);
    }
}
