using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Registry.Etcd;
using Router.Testing;

namespace Router.Registry.Tests;

/// <summary>The plain key operations other projects use instead of raw gRPC clients, against a real etcd.</summary>
[Collection(EtcdGroup.Name)]
public sealed class EtcdConnectionKeysTests(EtcdFixture fixture) : IDisposable
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();
    private readonly EtcdConnection _connection = new(new EtcdOptions { Endpoints = [new Uri(fixture.Etcd.Url)] }, NullLogger<EtcdConnection>.Instance);

    [Fact]
    public async Task GetAsync_KeyThere_ValueAndRevisions()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "https");

        var kv = await _connection.GetAsync($"{_prefix}/web/scheme", CancellationToken.None);

        Assert.NotNull(kv);
        Assert.Equal($"{_prefix}/web/scheme", kv.Key);
        Assert.Equal("https", Encoding.UTF8.GetString(kv.Value.Span));
        Assert.True(kv.ModRevision > 0);
        Assert.Equal(0, kv.LeaseId);
    }

    [Fact]
    public async Task GetAsync_NoSuchKey_Null()
    {
        Assert.Null(await _connection.GetAsync($"{_prefix}/nothing", CancellationToken.None));
    }

    [Fact]
    public async Task GetPrefixAsync_KeysUnderAndBeside_OnlyThoseUnderAtOneRevision()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", "10.0.0.1:80");
        await _etcd.PutAsync($"{_prefix}x/web/scheme", "http");

        var (keys, revision) = await _connection.GetPrefixAsync($"{_prefix}/", CancellationToken.None);

        Assert.Equal([$"{_prefix}/web/hosts/1", $"{_prefix}/web/scheme"], keys.Select(k => k.Key).Order(StringComparer.Ordinal));
        Assert.Equal(await _etcd.RevisionAsync(), revision);
    }

    [Fact]
    public async Task DeleteAsync_KeyThereOrNot_GoneWithoutError()
    {
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", "10.0.0.1:80");

        await _connection.DeleteAsync($"{_prefix}/web/hosts/1", CancellationToken.None);
        await _connection.DeleteAsync($"{_prefix}/web/hosts/1", CancellationToken.None);

        Assert.Null(await _etcd.GetAsync($"{_prefix}/web/hosts/1"));
    }

    [Fact]
    public async Task IsLeaseAliveAsync_LiveThenRevoked_TrueThenFalse()
    {
        var lease = await _etcd.Client.LeaseGrantAsync(new Etcdserverpb.LeaseGrantRequest { TTL = 30 });

        Assert.True(await _connection.IsLeaseAliveAsync(lease.ID, CancellationToken.None));

        await _etcd.Client.LeaseRevokeAsync(new Etcdserverpb.LeaseRevokeRequest { ID = lease.ID });

        Assert.False(await _connection.IsLeaseAliveAsync(lease.ID, CancellationToken.None));
    }

    public void Dispose() => _connection.Dispose();
}
