using System.Text;
using Router.Registry.Etcd;

namespace Router.Rollout;

/// <summary>The keys of one service's rollout: <c>{rollout-prefix}/{name}/lock</c> and <c>…/record</c>.</summary>
internal sealed class RolloutStore(EtcdConnection etcd, string rolloutPrefix, string service)
{
    public string LockKey { get; } = $"{rolloutPrefix}/{service}/lock";

    public string RecordKey { get; } = $"{rolloutPrefix}/{service}/record";

    public async Task<RolloutRecord?> ReadAsync(CancellationToken cancellationToken)
    {
        var record = await etcd.GetAsync(RecordKey, cancellationToken).ConfigureAwait(false);
        return record is null ? null : RolloutRecord.Parse(Encoding.UTF8.GetString(record.Value.Span));
    }

    /// <summary>Writes the record under the lock's fence; a refused write means the lock is gone: stop.</summary>
    public async Task SaveAsync(EtcdLock held, RolloutRecord record, TimeProvider time, CancellationToken cancellationToken)
    {
        record.Updated = time.GetUtcNow();
        if (!await held.PutAsync(RecordKey, record.Serialize(), cancellationToken).ConfigureAwait(false))
        {
            throw new LockLostException($"the lock {LockKey} is no longer ours (lease expired, or another rollout took it); stopped without further changes");
        }
    }
}
