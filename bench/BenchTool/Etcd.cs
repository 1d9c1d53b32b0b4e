using Etcdserverpb;
using Google.Protobuf;
using Grpc.Net.Client;

namespace BenchTool;

/// <summary>The few etcd calls the benchmark needs, straight on the gRPC KV service.</summary>
internal sealed class Etcd : IDisposable
{
    /// <summary>etcd's default --max-txn-ops.</summary>
    public const int MaxTxnOps = 128;

    private readonly GrpcChannel _channel;

    public Etcd(string endpoint)
    {
        _channel = GrpcChannel.ForAddress(endpoint);
        Kv = new KV.KVClient(_channel);
    }

    public KV.KVClient Kv { get; }

    public static RequestOp Put(string key, string value) => new()
    {
        RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) },
    };

    /// <summary>Puts every pair in one transaction: one revision, one watch event batch.</summary>
    public async Task PutAllAsync(IEnumerable<(string Key, string Value)> pairs)
    {
        var txn = new TxnRequest();
        txn.Success.AddRange(pairs.Select(p => Put(p.Key, p.Value)));
        await Kv.TxnAsync(txn);
    }

    /// <summary>
    /// The calls the measurements make, untimed, on a key outside the registry: the first calls on a new gRPC
    /// channel pay its connect and this tool's JIT (over 100 ms on this machine), which is not the router's
    /// time nor etcd's.
    /// </summary>
    public async Task WarmUpAsync(string key)
    {
        for (var i = 0; i < 5; i++)
        {
            await PutAllAsync([(key, "warm-up")]);
            await Kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8("warm-up") }).ResponseAsync;
        }

        await DeletePrefixAsync(key);
    }

    public async Task DeletePrefixAsync(string prefix)
    {
        var key = ByteString.CopyFromUtf8(prefix);
        var end = prefix[..^1] + (char)(prefix[^1] + 1);
        await Kv.DeleteRangeAsync(new DeleteRangeRequest { Key = key, RangeEnd = ByteString.CopyFromUtf8(end) });
    }

    public void Dispose() => _channel.Dispose();
}
