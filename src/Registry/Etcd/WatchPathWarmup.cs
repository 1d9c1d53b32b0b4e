using Etcdserverpb;
using Google.Protobuf;
using Router.Registry.Model;

namespace Router.Registry.Etcd;

/// <summary>
/// Runs the watcher's own steps for one watch event once, on a throwaway registry, as the watcher starts:
/// etcd's answer decoded from its wire bytes, its events turned into registry events
/// (<see cref="RegistryWatcher.Decode"/>), applied, and the change put in words for the log. Without it the
/// first registry change after start compiled them, on the core that serves requests: about 8 ms of the
/// first change's 25–40 ms in bench/route-live.sh (later changes: 3–7 ms). Nothing here touches etcd or the
/// router's registry.
/// </summary>
internal static class WatchPathWarmup
{
    /// <summary>Runs the steps; returns the change as the log would word it.</summary>
    public static string Run(RegistryLayout layout)
    {
        const string name = "router-warmup-watch";
        var state = new RegistryState(layout);
        var response = new WatchResponse { Header = new ResponseHeader { Revision = 2 }, WatchId = 1 };
        response.Events.Add(Put(layout.Scheme(name), "http", 2));
        response.Events.Add(Put(layout.Host(name, "1"), "127.0.0.1:9", 2));
        var decoded = WatchResponse.Parser.ParseFrom(response.ToByteArray());

        var events = new List<RegistryEvent>();
        var revision = RegistryWatcher.Decode(decoded, events, 1);
        var before = state.Snapshot;
        var change = state.Apply(events, revision);
        return RegistryChangeText.Describe(before, state.Snapshot, change);
    }

    private static Mvccpb.Event Put(string key, string value, long revision) => new()
    {
        Type = Mvccpb.Event.Types.EventType.Put,
        Kv = new Mvccpb.KeyValue
        {
            Key = ByteString.CopyFromUtf8(key),
            Value = ByteString.CopyFromUtf8(value),
            CreateRevision = revision,
            ModRevision = revision,
            Version = 1,
        },
    };
}
