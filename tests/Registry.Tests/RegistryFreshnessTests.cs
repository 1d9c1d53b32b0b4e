using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Registry.Etcd;
using Router.Testing;

namespace Router.Registry.Tests;

/// <summary>
/// The registry age says when the watcher last confirmed it is current (etcd answered a progress request),
/// not when something last changed; a watch that goes silent is found and reopened.
/// </summary>
[Collection(EtcdGroup.Name)]
public sealed class RegistryFreshnessTests(EtcdFixture fixture)
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task QuietRegistry_AgeStaysSmall()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await using var watcher = await StartWatcherAsync(_etcd.Url, TimeSpan.FromSeconds(3));
        await Wait.UntilAsync(() => watcher.Status.Ready && watcher.Status.Connected, "the first read");
        var revision = watcher.Status.Revision;
        var firstSync = watcher.Status.LastSync!.Value;

        // Nothing under the prefix changes; the age must still be confirmed again and again. A key elsewhere
        // moves etcd's revision: the answers to progress requests must not move the watch's resume revision.
        await _etcd.PutAsync($"/unrelated/{Guid.NewGuid():N}", "x");
        await Wait.UntilAsync(() => watcher.Status.LastSync > firstSync.AddSeconds(12), "the watcher to confirm it is current without any change", TimeSpan.FromSeconds(40));
        var age = DateTimeOffset.UtcNow - watcher.Status.LastSync!.Value;

        Assert.True(age < TimeSpan.FromSeconds(30), $"age {age.TotalSeconds:F1} s after a quiet 12 s");
        Assert.Equal(revision, watcher.Status.Revision);
        Assert.True(watcher.Status.Connected);
        Assert.Null(watcher.Status.LastError);
    }

    [Fact]
    public async Task WatchStalledSilently_DetectedReopenedAndLaterChangeArrives()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, _etcd.ClientPort));
        await using var watcher = await StartWatcherAsync(relay.Url, TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => watcher.Current.Services.ContainsKey("web") && watcher.Status.Connected, "the first read");

        // The connection stays open but carries nothing: no error, no close, just silence.
        relay.Stall();
        await Wait.UntilAsync(() => watcher.Status.LastError?.Contains("progress requests unanswered", StringComparison.Ordinal) == true, "the silent watch to be found");
        await _etcd.PutAsync($"{_prefix}/api/scheme", "http");

        await Wait.UntilAsync(() => watcher.Current.Services.ContainsKey("api") && watcher.Status.Connected, "the change made after the stall, over a reopened watch");
    }

    private async Task<WatcherHandle> StartWatcherAsync(string urls, TimeSpan progressInterval)
    {
        var errors = new List<string>();
        var options = new EtcdOptions
        {
            Endpoints = EtcdOptions.ParseEndpoints(urls, "--etcd", errors),
            CallTimeout = TimeSpan.FromSeconds(2),
            WatchProgressInterval = progressInterval,
        };
        Assert.Empty(errors);
        var connection = new EtcdConnection(options, NullLogger<EtcdConnection>.Instance);
        var watcher = new RegistryWatcher(connection, new RegistryLayout(_prefix), TimeProvider.System, NullLogger<RegistryWatcher>.Instance);
        await watcher.StartAsync(CancellationToken.None);
        return new WatcherHandle(watcher, connection);
    }

    private sealed class WatcherHandle(RegistryWatcher watcher, EtcdConnection connection) : IAsyncDisposable
    {
        public Model.RegistrySnapshot Current => watcher.Current;

        public RegistryStatus Status => watcher.Status;

        public async ValueTask DisposeAsync()
        {
            await watcher.StopAsync(CancellationToken.None);
            watcher.Dispose();
            connection.Dispose();
        }
    }
}
