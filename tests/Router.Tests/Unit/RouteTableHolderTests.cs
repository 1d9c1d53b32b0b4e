using System.Collections.Immutable;
using Router.Registry;
using Router.Registry.Model;
using Router.Routing;
using Router.Testing;

namespace Router.Tests;

public sealed class RouteTableHolderTests
{
    [Fact]
    public void Changed_OneRouteCannotBeBuilt_ProblemListedLoggedOnceOthersApplied()
    {
        var registry = new FakeRegistry(Snapshot(1, Entry("good", 80)));
        var logger = new RecordingLogger<RouteTableHolder>();
        var holder = new RouteTableHolder(registry, new DrainOptions(), new RegistryLayout("/services"), logger);

        // Port -1 never comes out of the parser; here it stands for any fault while building one route.
        registry.Raise(Snapshot(2, Entry("good", 80), Entry("bad", -1)), Change(2, added: ["bad"]));
        registry.Raise(Snapshot(3, Entry("good", 81), Entry("bad", -1)), Change(3, changed: ["good"]));

        Assert.True(holder.Current.TryGet("good", out var good));
        Assert.Equal(81, good.Destinations[0].Host.Port);
        Assert.False(holder.Current.TryGet("bad", out _));
        var problem = Assert.Single(holder.Problems);
        Assert.Equal(("bad", "/services/bad/"), (problem.Service, problem.Key));
        Assert.Single(logger.Lines, l => l.StartsWith("Error: Route of service bad not applied", StringComparison.Ordinal));

        registry.Raise(Snapshot(4, Entry("good", 81), Entry("bad", 82)), Change(4, changed: ["bad"]));

        Assert.True(holder.Current.TryGet("bad", out _));
        Assert.Empty(holder.Problems);
        Assert.Single(logger.Lines, l => l.Contains("Route of service bad applied again", StringComparison.Ordinal));
        Assert.Single(logger.Lines, l => l.Contains("Route of service bad not applied", StringComparison.Ordinal));
    }

    private static ServiceEntry Entry(string name, int port) => new()
    {
        Name = name,
        Scheme = ServiceScheme.Http,
        Hosts = [new ServiceHost("1", "10.0.0.1", port, 1)],
    };

    private static RegistrySnapshot Snapshot(long revision, params ServiceEntry[] entries) => new()
    {
        Revision = revision,
        Services = entries.ToImmutableDictionary(e => e.Name, e => e),
    };

    private static RegistryChange Change(long revision, ImmutableArray<string>? added = null, ImmutableArray<string>? changed = null) =>
        new(revision, added ?? [], [], changed ?? [], FullReload: false);
}
