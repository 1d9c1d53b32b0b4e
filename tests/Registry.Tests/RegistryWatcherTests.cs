using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Registry.Etcd;
using Router.Testing;

namespace Router.Registry.Tests;

[CollectionDefinition(Name)]
public sealed class EtcdGroup : ICollectionFixture<EtcdFixture>
{
    public const string Name = "etcd";
}

[Collection(EtcdGroup.Name)]
public sealed class RegistryWatcherTests(EtcdFixture fixture)
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task Start_ExistingAndLaterKeys_AllApplied()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", "10.0.0.1:80");
        await using var watcher = await StartWatcherAsync(_etcd.Url);

        await Wait.UntilAsync(() => watcher.Current.Services.ContainsKey("web"), "the first read");

        // The table is published first and the status says ready just after (never ready before a table exists):
        // read at once, it can still say not ready.
        await Wait.UntilAsync(() => watcher.Status.Ready, "ready after the first read");

        await _etcd.PutAsync($"{_prefix}/web/hosts/2", "10.0.0.2:80");
        await Wait.UntilAsync(() => watcher.Current.Services["web"].Hosts.Length == 2, "the new host");

        await _etcd.DeleteAsync($"{_prefix}/web/hosts/1");
        await Wait.UntilAsync(() => watcher.Current.Services["web"].Hosts.Single().Id == "2", "the deleted host to go");
    }

    [Fact]
    public async Task Outage_LastTableKeptAndChangesAppliedAfter()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, _etcd.ClientPort));
        await using var watcher = await StartWatcherAsync(relay.Url);
        await Wait.UntilAsync(() => watcher.Current.Services.ContainsKey("web") && watcher.Status.Connected, "the first read");

        relay.Cut();
        await Wait.UntilAsync(() => !watcher.Status.Connected, "the watcher to see the outage");
        Assert.True(watcher.Current.Services.ContainsKey("web"), "the last table stays while etcd is away");

        await _etcd.PutAsync($"{_prefix}/api/scheme", "http");
        relay.Restore();

        await Wait.UntilAsync(() => watcher.Current.Services.ContainsKey("api") && watcher.Status.Connected, "the change made during the outage");
    }

    [Fact]
    public async Task Outage_RevisionCompacted_ReadsEverythingAgain()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/old/scheme", "http");
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, _etcd.ClientPort));
        await using var watcher = await StartWatcherAsync(relay.Url);
        await Wait.UntilAsync(() => watcher.Current.Services.ContainsKey("old"), "the first read");

        relay.Cut();
        await Wait.UntilAsync(() => !watcher.Status.Connected, "the watcher to see the outage");
        await _etcd.DeleteAsync($"{_prefix}/old/scheme");
        await _etcd.PutAsync($"{_prefix}/new/scheme", "http");
        for (var i = 0; i < 5; i++)
        {
            await _etcd.PutAsync($"/unrelated/{Guid.NewGuid():N}", "x");
        }

        await _etcd.CompactAsync();
        relay.Restore();

        await Wait.UntilAsync(
            () => watcher.Current.Services.ContainsKey("new") && !watcher.Current.Services.ContainsKey("old") && watcher.Current.Services.ContainsKey("web"),
            "the table to converge to etcd's after compaction");
    }

    [Fact]
    public async Task FirstEndpointDead_UsesNext()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        var dead = $"http://127.0.0.1:{Ports.FreeTcp()}";
        await using var watcher = await StartWatcherAsync($"{dead},{_etcd.Url}");

        await Wait.UntilAsync(() => watcher.Current.Services.ContainsKey("web"), "the read through the second endpoint");
        Assert.Equal(new Uri(_etcd.Url), watcher.Status.CurrentEndpoint);
    }

    [Fact]
    public async Task BadValues_ReportedWithoutStoppingTheWatch()
    {
        await using var watcher = await StartWatcherAsync(_etcd.Url);
        await Wait.UntilAsync(() => watcher.Status.Ready, "the first read");

        await _etcd.PutAsync($"{_prefix}/bad/scheme", [0xc3, 0x28, 0x00, 0xff]);
        await _etcd.PutAsync($"{_prefix}/huge/scheme", new byte[512 * 1024]);
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");

        await Wait.UntilAsync(() => watcher.Current.Services.ContainsKey("web"), "the good service after the bad ones");
        Assert.Contains(watcher.Current.Problems, p => p.Service == "bad");
        Assert.Contains(watcher.Current.Problems, p => p.Service == "huge");
    }

    [Fact]
    public async Task HandlerThrows_ChangeLoggedAsNotApplied_OtherHandlersStillGetIt()
    {
        var log = new RecordingLogger<RegistryWatcher>();
        await using var watcher = await StartWatcherAsync(_etcd.Url, log);
        await Wait.UntilAsync(() => watcher.Status.Ready, "the first read");

        var seen = new List<long>();
        watcher.Watcher.Changed += (_, _) => throw new InvalidOperationException("a broken handler");
        watcher.Watcher.Changed += (snapshot, _) =>
        {
            lock (seen)
            {
                seen.Add(snapshot.Revision);
            }
        };

        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await Wait.UntilAsync(() => log.Lines.Any(l => l.Contains("NOT fully applied", StringComparison.Ordinal)), "the change to be logged as not applied");

        Assert.Contains(log.Lines, l => l.StartsWith("Error: A registry change handler failed", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("applied in", StringComparison.Ordinal));
        lock (seen)
        {
            Assert.Single(seen);
        }
    }

    private async Task<WatcherHandle> StartWatcherAsync(string urls, Microsoft.Extensions.Logging.ILogger<RegistryWatcher>? logger = null)
    {
        var errors = new List<string>();
        var options = new EtcdOptions { Endpoints = EtcdOptions.ParseEndpoints(urls, "--etcd", errors), CallTimeout = TimeSpan.FromSeconds(2) };
        Assert.Empty(errors);
        var connection = new EtcdConnection(options, NullLogger<EtcdConnection>.Instance);
        var watcher = new RegistryWatcher(connection, new RegistryLayout(_prefix), TimeProvider.System, logger ?? NullLogger<RegistryWatcher>.Instance);
        await watcher.StartAsync(CancellationToken.None);
        return new WatcherHandle(watcher, connection);
    }

    private sealed class WatcherHandle(RegistryWatcher watcher, EtcdConnection connection) : IAsyncDisposable
    {
        public RegistryWatcher Watcher => watcher;

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
