using Microsoft.Extensions.Time.Testing;
using Router.Registry.Model;
using Router.Routing;

namespace Router.Tests;

public sealed class ServiceRouteTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Pick_SpreadsOverAllHosts()
    {
        var route = Route(3);
        var picks = Enumerable.Range(0, 30).Select(_ => route.Pick(_time.GetTimestamp(), 0)).ToList();

        Assert.Equal(10, picks.Count(p => p == 0));
        Assert.Equal(10, picks.Count(p => p == 1));
        Assert.Equal(10, picks.Count(p => p == 2));
    }

    [Fact]
    public void Pick_SetAsideHost_SkippedUntilItsTimeIsUp()
    {
        var route = Route(2);
        route.Destinations[0].ReportConnectFailure(_time);

        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(1, route.Pick(_time.GetTimestamp(), 0)));

        _time.Advance(TimeSpan.FromMinutes(1));
        var picks = Enumerable.Range(0, 10).Select(_ => route.Pick(_time.GetTimestamp(), 0)).ToList();
        Assert.Contains(0, picks);
    }

    [Fact]
    public void Pick_TriedHostsExcluded_AndAllTriedGivesNone()
    {
        var route = Route(2);

        Assert.Equal(1, route.Pick(_time.GetTimestamp(), ServiceRoute.Bit(0)));
        Assert.Equal(-1, route.Pick(_time.GetTimestamp(), ServiceRoute.Bit(0) | ServiceRoute.Bit(1)));
    }

    [Fact]
    public void Pick_AllSetAside_StillTriesOne()
    {
        var route = Route(2);
        route.Destinations[0].ReportConnectFailure(_time);
        route.Destinations[1].ReportConnectFailure(_time);

        Assert.NotEqual(-1, route.Pick(_time.GetTimestamp(), 0));
    }

    [Fact]
    public void Walk_EachHostOnceUpToTheLimit()
    {
        var route = Route(5);

        var walk = new DestinationWalk(route, maxAttempts: 4);
        var seen = new List<Destination>();
        while (walk.TryNext(_time.GetTimestamp(), out var destination))
        {
            seen.Add(destination);
        }

        Assert.Equal(4, seen.Count);
        Assert.Equal(4, seen.Distinct().Count());
    }

    [Fact]
    public void Walk_FewerHostsThanLimit_EachOnce()
    {
        var route = Route(2);
        route.Destinations[0].ReportConnectFailure(_time);

        var walk = new DestinationWalk(route, maxAttempts: 4);
        Assert.True(walk.TryNext(_time.GetTimestamp(), out var first));
        Assert.True(walk.TryNext(_time.GetTimestamp(), out var second));
        Assert.False(walk.TryNext(_time.GetTimestamp(), out _));

        // The usable host comes first; the set-aside one is still tried, last.
        Assert.Same(route.Destinations[1], first);
        Assert.Same(route.Destinations[0], second);
    }

    [Fact]
    public void Pick_NoHosts_None() => Assert.Equal(-1, Route(0).Pick(_time.GetTimestamp(), 0));

    [Fact]
    public void Destination_SuccessAfterFailure_BackAtOnce()
    {
        var destination = Route(1).Destinations[0];
        destination.ReportConnectFailure(_time);
        Assert.False(destination.IsUsable(_time.GetTimestamp()));

        destination.ReportSuccess();

        Assert.True(destination.IsUsable(_time.GetTimestamp()));
        Assert.Equal(0, destination.ConsecutiveFailures);
    }

    private static ServiceRoute Route(int hosts) => new(new ServiceEntry
    {
        Name = "web",
        Scheme = ServiceScheme.Http,
        Hosts = [.. Enumerable.Range(0, hosts).Select(i => new ServiceHost(i.ToString(System.Globalization.CultureInfo.InvariantCulture), "10.0.0." + (i + 1), 80, i + 1))],
    });
}
