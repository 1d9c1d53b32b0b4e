using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Router.Registry.Etcd;

/// <summary>
/// A lock on one etcd key: a lease, and a transaction that creates the key only if it does not exist
/// (<c>create_revision == 0</c>), the etcd recipe. A lease alone is not mutual exclusion (a paused holder can
/// outlive it), so every write made under the lock is a transaction fenced by the lock key's create revision:
/// once the key is gone or was created again by someone else, the write fails instead of landing.
/// </summary>
public sealed class EtcdLock : IAsyncDisposable
{
    private readonly EtcdConnection _etcd;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _keepAlive;

    private EtcdLock(EtcdConnection etcd, string key, long lease, long revision, int ttlSeconds)
    {
        _etcd = etcd;
        Key = key;
        Lease = lease;
        Revision = revision;
        _keepAlive = Task.Run(() => KeepAliveAsync(ttlSeconds));
    }

    public string Key { get; }

    public long Lease { get; }

    /// <summary>The lock key's create revision: the fence of every write under this lock.</summary>
    public long Revision { get; }

    /// <summary>Cancelled when the lease could not be kept alive: the lock may be someone else's now.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>The outcome of <see cref="TryAcquireAsync"/>: the lock, or the value the holder wrote.</summary>
    public sealed record Attempt(EtcdLock? Lock, string? Holder);

    /// <summary>
    /// Takes the lock if nobody holds it; <paramref name="owner"/> is the value stored in the key for anyone
    /// refused to read. The lease lives <paramref name="ttlSeconds"/> without keepalives (a killed holder frees
    /// the lock after that long).
    /// </summary>
    public static async Task<Attempt> TryAcquireAsync(EtcdConnection etcd, string key, string owner, int ttlSeconds, CancellationToken cancellationToken)
    {
        var grant = await etcd.CallAsync((c, o) => c.Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = ttlSeconds }, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        var keyBytes = ByteString.CopyFromUtf8(key);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = keyBytes, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = keyBytes, Value = ByteString.CopyFromUtf8(owner), Lease = grant.ID } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = keyBytes } });
        var answer = await etcd.CallAsync((c, o) => c.Kv.TxnAsync(txn, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        if (answer.Succeeded)
        {
            // The put created the key, so the transaction's revision is its create revision.
            return new Attempt(new EtcdLock(etcd, key, grant.ID, answer.Header.Revision, ttlSeconds), null);
        }

        await RevokeAsync(etcd, grant.ID).ConfigureAwait(false);
        var held = answer.Responses[0].ResponseRange.Kvs;
        return new Attempt(null, held.Count > 0 ? held[0].Value.ToStringUtf8() : "(released meanwhile)");
    }

    /// <summary>Reads who holds the lock on <paramref name="key"/>, or null when nobody does.</summary>
    public static async Task<string?> HolderAsync(EtcdConnection etcd, string key, CancellationToken cancellationToken)
    {
        var range = await etcd.CallAsync((c, o) => c.Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return range.Kvs.Count > 0 ? range.Kvs[0].Value.ToStringUtf8() : null;
    }

    /// <summary>Puts <paramref name="key"/> only while this lock still holds; false when the fence refused it.</summary>
    public Task<bool> PutAsync(string key, string value, CancellationToken cancellationToken) =>
        FencedAsync(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) } }, cancellationToken);

    /// <summary>Deletes <paramref name="key"/> only while this lock still holds; false when the fence refused it.</summary>
    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken) =>
        FencedAsync(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) } }, cancellationToken);

    /// <summary>Releases the lock: the key goes (only if it is still ours) and the lease is revoked.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _keepAlive.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // Stopped mid-call: expected.
        }

        try
        {
            await DeleteAsync(Key, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // etcd away: the lease runs out by itself.
        }

        await RevokeAsync(_etcd, Lease).ConfigureAwait(false);
        _stop.Dispose();
        _lost.Dispose();
    }

    private async Task<bool> FencedAsync(RequestOp op, CancellationToken cancellationToken)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = ByteString.CopyFromUtf8(Key), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = Revision });
        txn.Success.Add(op);
        var answer = await _etcd.CallAsync((c, o) => c.Kv.TxnAsync(txn, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return answer.Succeeded;
    }

    private static async Task RevokeAsync(EtcdConnection etcd, long lease)
    {
        try
        {
            await etcd.CallAsync((c, o) => c.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, o).ResponseAsync, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // Already expired, or etcd away: either way it ends by itself.
        }
    }

    /// <summary>
    /// Keepalives every third of the TTL over unary-sized streams; a lease etcd no longer knows, or one not
    /// renewed for a whole TTL, is lost.
    /// </summary>
    private async Task KeepAliveAsync(int ttlSeconds)
    {
        var period = TimeSpan.FromSeconds(Math.Max(ttlSeconds / 3.0, 0.2));
        var lastRenewed = DateTime.UtcNow;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var options = await _etcd.CallOptionsAsync(_etcd.Options.CallTimeout, _stop.Token).ConfigureAwait(false);
                using var call = _etcd.Lease.LeaseKeepAlive(options);
                await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = Lease }, _stop.Token).ConfigureAwait(false);
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                if (await call.ResponseStream.MoveNext(_stop.Token).ConfigureAwait(false) && call.ResponseStream.Current.TTL <= 0)
                {
                    await _lost.CancelAsync().ConfigureAwait(false);
                    return;
                }

                lastRenewed = DateTime.UtcNow;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException && !_stop.IsCancellationRequested)
            {
                if (DateTime.UtcNow - lastRenewed > TimeSpan.FromSeconds(ttlSeconds))
                {
                    await _lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }

            await Task.Delay(period, _stop.Token).ConfigureAwait(false);
        }
    }
}
