using Router.Registry.Etcd;

namespace Router.Registry.Tests;

/// <summary>
/// The start-up warm-up of the watcher's event path: a put decoded from etcd's wire form goes through the
/// watcher's own decoding, the registry and the log's wording, under any prefix.
/// </summary>
public sealed class WatchPathWarmupTests
{
    [Theory]
    [InlineData("/services")]
    [InlineData("/a/deeper/prefix")]
    public void Run_DecodesAppliesAndDescribesOneNewService(string prefix)
    {
        var description = WatchPathWarmup.Run(new RegistryLayout(prefix));

        Assert.Equal("router-warmup-watch added (http, 1 host)", description);
    }
}
