using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Router.Registry.Model;

namespace Router.Registry.Etcd;

/// <summary>
/// Plain key operations for the other projects (check, rollout), so they need no gRPC client of their own. Each is
/// one call through <see cref="CallAsync{T}"/>: failover and token renewal included.
/// </summary>
public sealed partial class EtcdConnection
{
    /// <summary>The key as etcd holds it now, or null when it does not exist.</summary>
    public async Task<RegistryKeyValue?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var range = await CallAsync((c, o) => c.Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return range.Kvs.Count == 0 ? null : RegistryWatcher.ToKeyValue(range.Kvs[0]);
    }

    /// <summary>Every key under <paramref name="prefix"/> as of one revision, and that revision.</summary>
    public async Task<(IReadOnlyList<RegistryKeyValue> Keys, long Revision)> GetPrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        var request = new RangeRequest
        {
            Key = ByteString.CopyFromUtf8(prefix),
            RangeEnd = ByteString.CopyFromUtf8(RegistryWatcher.PrefixEnd(prefix)),
        };
        var range = await CallAsync((c, o) => c.Kv.RangeAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
        return ([.. range.Kvs.Select(RegistryWatcher.ToKeyValue)], range.Header.Revision);
    }

    /// <summary>Deletes the key; a key that is not there is no error.</summary>
    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        await CallAsync((c, o) => c.Kv.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) }, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether etcd still keeps <paramref name="lease"/> (and the keys bound to it) alive.</summary>
    public async Task<bool> IsLeaseAliveAsync(long lease, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await CallAsync((c, o) => c.Lease.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease }, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
            return answer.TTL > 0;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // etcd's answer for a lease that ended (expired or revoked) before this call.
            return false;
        }
    }
}
