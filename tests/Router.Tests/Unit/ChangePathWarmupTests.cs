using Router.Registry;
using Router.Routing;

namespace Router.Tests;

/// <summary>
/// The start-up warm-up of the change path: its steps really change its throwaway table (so the incremental
/// path is the one compiled), and it runs under any prefix without touching anything else.
/// </summary>
public sealed class ChangePathWarmupTests
{
    [Theory]
    [InlineData("/services")]
    [InlineData("/a/deeper/prefix")]
    public void Run_EndsWithTheFirstServiceOnItsSecondHostOnly(string prefix)
    {
        var table = ChangePathWarmup.Run(new RegistryLayout(prefix));

        var route = Assert.Single(table.Routes);
        Assert.Equal("router-warmup-1", route.Entry.Name);
        var destination = Assert.Single(route.Destinations);
        Assert.Equal(("2", "127.0.0.1:9"), (destination.Host.Id, destination.Host.Authority));
        Assert.Equal(5, table.Revision);
        Assert.Empty(table.Failures);
    }
}
