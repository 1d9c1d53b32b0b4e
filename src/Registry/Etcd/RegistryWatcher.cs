using System.Diagnostics;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Registry.Model;

namespace Router.Registry.Etcd;

/// <summary>
/// Reads the registry prefix at one revision, then watches from revision + 1 on a raw watch stream. A broken
/// stream is reopened after a backoff from the last revision seen (events or progress notices); a compacted
/// revision means a full re-read. The last snapshot keeps serving while etcd is away.
/// </summary>
internal sealed partial class RegistryWatcher : BackgroundService, IRegistrySource
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    private readonly EtcdConnection _etcd;
    private readonly RegistryLayout _layout;
    private readonly RegistryState _state;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private volatile RegistrySnapshot _current = RegistrySnapshot.Empty;
    private volatile RegistryStatus _status;

    public RegistryWatcher(EtcdConnection etcd, RegistryLayout layout, TimeProvider time, ILogger<RegistryWatcher> logger, IHostApplicationLifetime? lifetime = null)
    {
        _etcd = etcd;
        _layout = layout;
        _state = new RegistryState(layout);
        _time = time;
        _logger = logger;
        _lifetime = lifetime;
        _status = new RegistryStatus { Endpoints = etcd.Endpoints, CurrentEndpoint = etcd.CurrentEndpoint };
    }

    public event Action<RegistrySnapshot, RegistryChange>? Changed;

    public RegistrySnapshot Current => _current;

    public RegistryStatus Status => _status;

    /// <summary>Every key of the current snapshot; an immutable view, safe to enumerate later.</summary>
    /// <remarks>Read it in a <see cref="Changed"/> handler to get the keys of that very snapshot.</remarks>
    public IEnumerable<RegistryKeyValue> Keys => _state.Keys;

    /// <summary>
    /// Starts from saved keys (the last good registry on disk) until etcd answers. Call before the watcher
    /// starts; the first read from etcd replaces it all.
    /// </summary>
    public void Seed(IEnumerable<RegistryKeyValue> keys, long revision)
    {
        var change = _state.Load(keys, revision);
        _current = _state.Snapshot;
        Notify(_current, change);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Beside etcd's connect and first read, never in a change's way.
        _ = Task.Run(WarmUp, CancellationToken.None);
        try
        {
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: the open watch reports it as RpcException(Cancelled), not as OperationCanceled.
        }
        catch (Exception e)
        {
            // The loop only ends on shutdown; anything else is a bug, and a router that silently stops
            // following the registry is worse than one that restarts.
            Log.WatcherDied(_logger, e);
            _lifetime?.StopApplication();
            throw;
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = new Backoff(FirstBackoff, _etcd.Options.MaxReconnectBackoff);
        var needRead = true;
        var loggedInAgain = false;
        long revision = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var endpoint = _etcd.CurrentEndpoint;
            var retryAtOnce = false;
            try
            {
                if (needRead)
                {
                    revision = await ReadAllAsync(cancellationToken).ConfigureAwait(false);
                    needRead = false;
                }

                var outcome = await WatchAsync(revision, r => revision = r, () => { backoff.Reset(); loggedInAgain = false; }, cancellationToken).ConfigureAwait(false);
                if (outcome == WatchOutcome.Compacted)
                {
                    Log.Compacted(_logger, revision);
                    needRead = true;
                    continue;
                }
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                if (_etcd.NoteFailure(e, endpoint))
                {
                    // A token that expired or was revoked while the watch was open: a new one is all it takes, so
                    // the first such failure is retried without the backoff (a refused fresh token is not).
                    retryAtOnce = !loggedInAgain;
                    loggedInAgain = true;
                }

                var error = _etcd.Describe(e, endpoint);
                SetStatus(connected: false, error: error);
                Log.WatchFailed(_logger, endpoint, error, backoff.Current.TotalMilliseconds);
            }
            catch (IOException e) when (!cancellationToken.IsCancellationRequested)
            {
                _etcd.NoteFailure(e, endpoint);
                SetStatus(connected: false, error: e.Message);
                Log.WatchFailed(_logger, endpoint, e.Message, backoff.Current.TotalMilliseconds);
            }

            if (retryAtOnce)
            {
                continue;
            }

            await Task.Delay(backoff.Next(), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<long> ReadAllAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var request = new RangeRequest
        {
            Key = ByteString.CopyFromUtf8(_layout.WatchPrefix),
            RangeEnd = ByteString.CopyFromUtf8(PrefixEnd(_layout.WatchPrefix)),
        };
        var options = await _etcd.CallOptionsAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var response = await _etcd.Kv.RangeAsync(request, options).ConfigureAwait(false);
        var change = _state.Load(response.Kvs.Select(ToKeyValue), response.Header.Revision);
        Publish(change, started, response.Header.Revision);
        return response.Header.Revision;
    }

    private async Task<WatchOutcome> WatchAsync(long revision, Action<long> advanced, Action connected, CancellationToken cancellationToken)
    {
        var options = await _etcd.CallOptionsAsync(timeout: null, cancellationToken).ConfigureAwait(false);
        using var call = _etcd.Watch.Watch(options);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = ByteString.CopyFromUtf8(_layout.WatchPrefix),
                RangeEnd = ByteString.CopyFromUtf8(PrefixEnd(_layout.WatchPrefix)),
                StartRevision = revision + 1,
                // Progress notices move the resume revision on while nothing under the prefix changes, so a
                // reconnect after a quiet hour does not ask for a revision etcd has compacted away.
                ProgressNotify = true,
            },
        }, cancellationToken).ConfigureAwait(false);

        // etcd sends nothing on a quiet prefix (its own progress notices come every 10 minutes), so silence
        // cannot tell a quiet registry from a dead watch: ask for progress every few seconds, and give up on a
        // stream that leaves the questions unanswered.
        var lastHeard = _time.GetTimestamp();
        using var silent = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = AskProgressAsync(call.RequestStream, () => Volatile.Read(ref lastHeard), silent);
        try
        {
            return await ReadWatchAsync(call.ResponseStream, revision, advanced, connected, () => Volatile.Write(ref lastHeard, _time.GetTimestamp()), silent.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException && silent.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var seconds = _time.GetElapsedTime(Volatile.Read(ref lastHeard)).TotalSeconds;
            throw new RpcException(new Status(StatusCode.Unavailable, $"watch silent for {seconds:F0} s, progress requests unanswered; reopening it"));
        }
        finally
        {
            await silent.CancelAsync().ConfigureAwait(false);
            await progress.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends a progress request (etcd v3 WatchProgressRequest) every <see cref="EtcdOptions.WatchProgressInterval"/>;
    /// cancels <paramref name="silent"/> when nothing came back for three intervals (one answer late on a busy
    /// machine is no dead watch).
    /// </summary>
    private async Task AskProgressAsync(IClientStreamWriter<WatchRequest> requests, Func<long> lastHeard, CancellationTokenSource silent)
    {
        var interval = _etcd.Options.WatchProgressInterval;
        try
        {
            while (true)
            {
                await Task.Delay(interval, _time, silent.Token).ConfigureAwait(false);
                if (_time.GetElapsedTime(lastHeard()) > interval * 3)
                {
                    await silent.CancelAsync().ConfigureAwait(false);
                    return;
                }

                await requests.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }, silent.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or InvalidOperationException or IOException)
        {
            // The watch ended (or the write failed with it): the reading side reports why.
        }
    }

    private async Task<WatchOutcome> ReadWatchAsync(IAsyncStreamReader<WatchResponse> responses, long revision, Action<long> advanced, Action connected, Action heard, CancellationToken cancellationToken)
    {
        var events = new List<RegistryEvent>();
        while (await responses.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            heard();
            var response = responses.Current;
            if (response.CompactRevision > 0)
            {
                return WatchOutcome.Compacted;
            }

            // Checked before Created: etcd refuses a watch by answering "created" and "cancelled" at once, and such
            // a watch is no connection (it must not reset the backoff or show as connected).
            if (response.Canceled)
            {
                throw CancelledByEtcd(response.CancelReason);
            }

            if (response.Created)
            {
                connected();
                SetStatus(connected: true, error: null, revision: revision);
                Log.Watching(_logger, _etcd.CurrentEndpoint, revision + 1);
            }

            if (response.Events.Count == 0)
            {
                // A progress notice of this watch: every event up to its revision has been delivered. The answer to
                // our progress request (watch id -1, for all watches of the stream) only confirms the stream is alive
                // and etcd current: etcd before 3.4.25/3.5.8 could send it ahead of events still queued, so the
                // resume revision does not move on it.
                if (!response.Created && response.WatchId != -1 && response.Header.Revision > revision)
                {
                    revision = response.Header.Revision;
                    advanced(revision);
                }

                SetStatus(connected: true, error: null, revision: revision);
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            revision = Decode(response, events, revision);
            var change = _state.Apply(events, revision);
            Publish(change, started, revision);
            advanced(revision);
        }

        // The server ended the stream (member stopping, leader change): reconnect from where we are.
        throw new RpcException(new Status(StatusCode.Unavailable, "watch stream closed by etcd"));
    }

    /// <summary>
    /// A watch that etcd cancelled. The token is checked only when a watch is created, so a token that expired or
    /// was revoked while the stream was open shows up here, as a cancel reason (etcd 3.4: "…invalid auth token",
    /// "…permission denied", "…revision of auth store is old"), and not as an Unauthenticated status: it must be
    /// reported as an auth failure, or the watch is reopened with the same dead token forever.
    /// </summary>
    internal static RpcException CancelledByEtcd(string reason)
    {
        var auth = reason.Contains("auth token", StringComparison.OrdinalIgnoreCase)
            || reason.Contains("permission denied", StringComparison.OrdinalIgnoreCase)
            || reason.Contains("auth store is old", StringComparison.OrdinalIgnoreCase)
            || reason.Contains("Unauthenticated", StringComparison.Ordinal);
        return new RpcException(new Status(auth ? StatusCode.Unauthenticated : StatusCode.Unavailable, $"watch cancelled by etcd: {reason}"));
    }

    private void Publish(RegistryChange change, long started, long revision)
    {
        var snapshot = _state.Snapshot;
        var before = _current;
        change = change with { ReceivedTimestamp = started };
        _current = snapshot;
        SetStatus(connected: true, error: null, revision: revision, ready: true);
        var failed = Notify(snapshot, change);
        var elapsed = Stopwatch.GetElapsedTime(started);

        // Problems are logged by ProblemLog, once each as they appear and as they are resolved. A change that a
        // handler failed on is never logged as applied.
        if (failed > 0)
        {
            Log.NotApplied(_logger, revision, RegistryChangeText.Describe(before, snapshot, change), failed);
        }
        else if (change.FullReload)
        {
            Log.Loaded(_logger, revision, snapshot.Services.Count, snapshot.Problems.Length, change.Added.Length, change.Removed.Length, change.Changed.Length, elapsed.TotalMilliseconds);
        }
        else if (!change.IsEmpty)
        {
            Log.Applied(_logger, revision, RegistryChangeText.Describe(before, snapshot, change), elapsed.TotalMilliseconds);
        }
    }

    /// <summary>Hands the change to every handler; returns how many of them failed.</summary>
    private int Notify(RegistrySnapshot snapshot, RegistryChange change)
    {
        var handlers = Changed;
        if (handlers is null)
        {
            return 0;
        }

        var failed = 0;
        foreach (var handler in handlers.GetInvocationList().Cast<Action<RegistrySnapshot, RegistryChange>>())
        {
            try
            {
                handler(snapshot, change);
            }
            catch (Exception e)
            {
                failed++;
                Log.HandlerFailed(_logger, e);
            }
        }

        return failed;
    }

    private void SetStatus(bool connected, string? error, long? revision = null, bool? ready = null)
    {
        var old = _status;
        _status = old with
        {
            CurrentEndpoint = _etcd.CurrentEndpoint,
            Connected = connected,
            LastError = error ?? (connected ? null : old.LastError),
            Revision = revision ?? old.Revision,
            Ready = ready ?? old.Ready,
            LastSync = connected ? _time.GetUtcNow() : old.LastSync,
        };
    }

    private void WarmUp()
    {
        try
        {
            WatchPathWarmup.Run(_layout);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Costs the first change its speed, nothing else: the real path reports its own failures.
            Log.WarmupFailed(_logger, e);
        }
    }

    /// <summary>The response's events as registry events, in place of what <paramref name="events"/> held; returns the revision they bring the watch to.</summary>
    internal static long Decode(WatchResponse response, List<RegistryEvent> events, long revision)
    {
        events.Clear();
        foreach (var e in response.Events)
        {
            events.Add(new RegistryEvent(e.Type == Mvccpb.Event.Types.EventType.Delete, ToKeyValue(e.Kv)));
            revision = Math.Max(revision, e.Kv.ModRevision);
        }

        return revision;
    }

    internal static RegistryKeyValue ToKeyValue(Mvccpb.KeyValue kv) =>
        new(kv.Key.ToStringUtf8(), kv.Value.Memory, kv.CreateRevision, kv.ModRevision, kv.Lease);

    /// <summary>The etcd range end that covers every key starting with <paramref name="prefix"/>.</summary>
    public static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);

    private enum WatchOutcome
    {
        Compacted,
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.RegistryLoaded, LogLevel.Information, "Registry read at revision {Revision}: {Services} services, {Problems} problems (added {Added}, removed {Removed}, changed {Changed}) in {ElapsedMs:F1} ms")]
        public static partial void Loaded(ILogger logger, long revision, int services, int problems, int added, int removed, int changed, double elapsedMs);

        [LoggerMessage(EventIds.RegistryApplied, LogLevel.Information, "Registry change at revision {Revision}: {Changes}; applied in {ElapsedMs:F2} ms")]
        public static partial void Applied(ILogger logger, long revision, string changes, double elapsedMs);

        [LoggerMessage(EventIds.RegistryNotApplied, LogLevel.Error, "Registry change at revision {Revision}: {Changes}; NOT fully applied: {Failed} handler(s) failed (see the error above)")]
        public static partial void NotApplied(ILogger logger, long revision, string changes, int failed);

        [LoggerMessage(EventIds.RegistryWatchFailed, LogLevel.Warning, "etcd watch on {Endpoint} failed ({Error}); keeping the last table, retrying in {BackoffMs} ms")]
        public static partial void WatchFailed(ILogger logger, Uri endpoint, string error, double backoffMs);

        [LoggerMessage(EventIds.RegistryWatching, LogLevel.Information, "Watching etcd {Endpoint} from revision {Revision}")]
        public static partial void Watching(ILogger logger, Uri endpoint, long revision);

        [LoggerMessage(EventIds.RegistryCompacted, LogLevel.Warning, "etcd compacted revision {Revision}; reading the registry again")]
        public static partial void Compacted(ILogger logger, long revision);

        [LoggerMessage(EventIds.RegistryHandlerFailed, LogLevel.Error, "A registry change handler failed")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventIds.RegistryWarmupFailed, LogLevel.Debug, "Warming the watch path up failed; the first registry change compiles it")]
        public static partial void WarmupFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventIds.RegistryWatcherDied, LogLevel.Critical, "The registry watcher stopped unexpectedly; stopping the host")]
        public static partial void WatcherDied(ILogger logger, Exception exception);
    }
}
