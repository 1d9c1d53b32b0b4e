using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Registry.Etcd;
using Router.Registry.Model;

namespace Router.Registry;

/// <summary>
/// Keeps the last good registry on disk and, at start, serves it until etcd answers: a router restarted
/// during an etcd outage routes as before instead of 404 for everything. Saves are coalesced (at most one
/// a second) and made off the watcher's loop.
/// </summary>
internal sealed partial class RegistryStateSaver : BackgroundService
{
    private static readonly TimeSpan Coalesce = TimeSpan.FromSeconds(1);

    private readonly RegistryWatcher _watcher;
    private readonly RegistryLayout _layout;
    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private volatile Pending? _pending;

    public RegistryStateSaver(RegistryWatcher watcher, RegistryLayout layout, string path, TimeProvider time, ILogger<RegistryStateSaver> logger)
    {
        _watcher = watcher;
        _layout = layout;
        _path = path;
        _time = time;
        _logger = logger;

        if (RegistryStateFile.TryLoad(path, layout.Prefix, out var revision, out var savedAt, out var keys, out var reason))
        {
            watcher.Seed(keys, revision);
            Log.Seeded(_logger, path, revision, savedAt, watcher.Current.Services.Count);
        }
        else
        {
            Log.NotSeeded(_logger, path, reason);
        }

        watcher.Changed += OnChanged;
    }

    public override void Dispose()
    {
        _watcher.Changed -= OnChanged;
        _changed.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await _changed.WaitAsync(stoppingToken).ConfigureAwait(false);
            await Task.Delay(Coalesce, _time, stoppingToken).ConfigureAwait(false);
            await SaveAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // What changed in the last second before shutdown is kept too.
        await SaveAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OnChanged(RegistrySnapshot snapshot, RegistryChange change)
    {
        // Only what came from etcd is worth saving; the watcher's status says whether it has read etcd yet.
        if (!_watcher.Status.Ready)
        {
            return;
        }

        _pending = new Pending(snapshot.Revision, _watcher.Keys);
        if (_changed.CurrentCount == 0)
        {
            try
            {
                _changed.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    private async Task SaveAsync(CancellationToken cancellationToken)
    {
        var pending = Interlocked.Exchange(ref _pending, null);
        if (pending is null)
        {
            return;
        }

        try
        {
            await RegistryStateFile.SaveAsync(_path, _layout.Prefix, pending.Revision, pending.Keys, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The stop cancelled a save in progress: hand the keys back (unless newer ones came), so the save in
            // StopAsync writes them instead of finding nothing pending.
            Interlocked.CompareExchange(ref _pending, pending, null);
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.SaveFailed(_logger, _path, e.Message);
        }
    }

    private sealed record Pending(long Revision, IEnumerable<RegistryKeyValue> Keys);

    private static partial class Log
    {
        [LoggerMessage(EventIds.SavedRegistrySeeded, LogLevel.Warning, "Serving the registry saved in {Path} (revision {Revision}, saved {SavedAt}, {Services} services) until etcd answers")]
        public static partial void Seeded(ILogger logger, string path, long revision, DateTimeOffset savedAt, int services);

        [LoggerMessage(EventIds.SavedRegistryNotSeeded, LogLevel.Information, "No saved registry used from {Path}: {Reason}")]
        public static partial void NotSeeded(ILogger logger, string path, string reason);

        [LoggerMessage(EventIds.SavedRegistrySaveFailed, LogLevel.Warning, "Could not save the registry to {Path}: {Reason}")]
        public static partial void SaveFailed(ILogger logger, string path, string reason);
    }
}
