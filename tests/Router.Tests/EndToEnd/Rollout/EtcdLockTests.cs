using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Registry.Etcd;
using Router.Testing;

namespace Router.Tests.Rollout;

/// <summary>The rollout lock against a real etcd: one holder, the holder named to others, writes fenced.</summary>
[Collection(RolloutGroup.Name)]
public sealed class EtcdLockTests(SharedEtcdFixture fixture) : IDisposable
{
    private readonly EtcdConnection _etcd = new(new EtcdOptions { Endpoints = [new Uri(fixture.Etcd.Url)] }, NullLogger<EtcdConnection>.Instance);
    private readonly string _key = $"/r{Guid.NewGuid():N}/web/lock";

    [Fact]
    public async Task TryAcquire_Held_RefusedWithTheHoldersValue()
    {
        var first = await EtcdLock.TryAcquireAsync(_etcd, _key, "host a pid 1", 10, CancellationToken.None);
        await using var held = first.Lock!;

        var second = await EtcdLock.TryAcquireAsync(_etcd, _key, "host b pid 2", 10, CancellationToken.None);

        Assert.Null(second.Lock);
        Assert.Equal("host a pid 1", second.Holder);
        Assert.Equal("host a pid 1", await EtcdLock.HolderAsync(_etcd, _key, CancellationToken.None));
    }

    [Fact]
    public async Task Dispose_ReleasesForTheNextOne()
    {
        var first = await EtcdLock.TryAcquireAsync(_etcd, _key, "a", 10, CancellationToken.None);
        await first.Lock!.DisposeAsync();

        var second = await EtcdLock.TryAcquireAsync(_etcd, _key, "b", 10, CancellationToken.None);
        await using var held = second.Lock!;

        Assert.NotNull(second.Lock);
        Assert.Equal("b", await EtcdLock.HolderAsync(_etcd, _key, CancellationToken.None));
    }

    [Fact]
    public async Task FencedPut_LockKeyRecreatedBySomeoneElse_IsRefusedAndWritesNothing()
    {
        var first = await EtcdLock.TryAcquireAsync(_etcd, _key, "a", 10, CancellationToken.None);
        await using var stale = first.Lock!;
        Assert.True(await stale.PutAsync(_key + "-a", "from a", CancellationToken.None));

        // What a paused holder finds on waking: its lease ended (here: revoked) and another took the lock.
        await _etcd.CallAsync((c, o) => c.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = stale.Lease }, o).ResponseAsync, CancellationToken.None);
        var second = await EtcdLock.TryAcquireAsync(_etcd, _key, "b", 10, CancellationToken.None);
        await using var current = second.Lock!;

        Assert.False(await stale.PutAsync(_key + "-record", "late write from a", CancellationToken.None));
        Assert.True(await current.PutAsync(_key + "-record", "from b", CancellationToken.None));
        var range = await _etcd.CallAsync((c, o) => c.Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_key + "-record") }, o).ResponseAsync, CancellationToken.None);
        Assert.Equal("from b", range.Kvs.Single().Value.ToStringUtf8());
        Assert.True(current.Revision > stale.Revision);
    }

    [Fact]
    public async Task Holder_KilledWithoutRelease_LockFreesAfterItsTtl()
    {
        var first = await EtcdLock.TryAcquireAsync(_etcd, _key, "a", 2, CancellationToken.None);
        Assert.NotNull(first.Lock);

        // The holder dies: no keepalive, no release (its lease is revoked the way expiry would end it).
        await _etcd.CallAsync((c, o) => c.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = first.Lock.Lease }, o).ResponseAsync, CancellationToken.None);

        await Wait.UntilAsync(() => first.Lock.Lost.IsCancellationRequested, "the holder to notice its lease is gone", TimeSpan.FromSeconds(10));
        var second = await EtcdLock.TryAcquireAsync(_etcd, _key, "b", 2, CancellationToken.None);
        await using var held = second.Lock!;
        Assert.NotNull(second.Lock);
        await first.Lock.DisposeAsync();
        Assert.Equal("b", await EtcdLock.HolderAsync(_etcd, _key, CancellationToken.None));
    }

    public void Dispose() => _etcd.Dispose();
}
