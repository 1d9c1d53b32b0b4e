using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Admin;
using Router.Metrics;
using Router.Registry;
using Router.Registry.Model;
using Router.Routing;

namespace Router.Tests;

/// <summary>The status page's rate history and the change-to-live histogram, fed by hand.</summary>
public sealed class RequestRateHistoryTests
{
    private readonly FakeRegistry _registry = new(Snapshot(1, "web"));
    private readonly RouterMetrics _metrics = new();
    private readonly RouteTableHolder _routes;
    private readonly RequestRateHistory _history;

    public RequestRateHistoryTests()
    {
        _routes = new RouteTableHolder(_registry, new DrainOptions(), new RegistryLayout("/services"), NullLogger<RouteTableHolder>.Instance);
        _history = new RequestRateHistory(_metrics, _routes, TimeProvider.System);
    }

    [Fact]
    public void Sample_RequestsBetweenSamples_RatesPerSecondOf5xxAndAll()
    {
        _metrics.For("web").Record("GET", 200, TimeSpan.Zero);
        _history.Sample();
        Assert.Empty(_history.Read()["web"].Requests);

        for (var i = 0; i < 10; i++)
        {
            _metrics.For("web").Record("GET", 200, TimeSpan.Zero);
        }

        for (var i = 0; i < 5; i++)
        {
            _metrics.For("web").Record("POST", 503, TimeSpan.Zero);
        }

        _metrics.For("web").Record("GET", 404, TimeSpan.Zero);
        _history.Sample();

        var (requests, errors) = _history.Read()["web"];
        var seconds = RequestRateHistory.Interval.TotalSeconds;
        Assert.Equal([16 / seconds], requests);
        Assert.Equal([5 / seconds], errors);
    }

    [Fact]
    public void Sample_MoreThanTheRingHolds_NewestKeptOldestFirst()
    {
        _history.Sample();
        for (var i = 1; i <= RequestRateHistory.Points + 5; i++)
        {
            for (var n = 0; n < i; n++)
            {
                _metrics.For("web").Record("GET", 200, TimeSpan.Zero);
            }

            _history.Sample();
        }

        var requests = _history.Read()["web"].Requests;
        var seconds = RequestRateHistory.Interval.TotalSeconds;
        Assert.Equal(RequestRateHistory.Points, requests.Length);
        Assert.Equal(6 / seconds, requests[0]);
        Assert.Equal((RequestRateHistory.Points + 5) / seconds, requests[^1]);
    }

    [Fact]
    public void Sample_ServiceLeftTheTable_Dropped()
    {
        _metrics.For("web").Record("GET", 200, TimeSpan.Zero);
        _history.Sample();
        Assert.True(_history.Read().ContainsKey("web"));

        _registry.Raise(Snapshot(2), new RegistryChange(2, [], ["web"], [], FullReload: false));
        _history.Sample();

        Assert.False(_history.Read().ContainsKey("web"));
    }

    [Fact]
    public void ApplyTimes_ChangeFromEtcdRecordedSavedRegistryNot()
    {
        _registry.Raise(Snapshot(2, "web", "api"), new RegistryChange(2, ["api"], [], [], FullReload: false) { ReceivedTimestamp = Stopwatch.GetTimestamp() });
        _registry.Raise(Snapshot(3, "web"), new RegistryChange(3, [], ["api"], [], FullReload: false));

        Assert.Equal(1, _routes.ApplyTimes.Count);
        var (cumulative, count, _) = _routes.ApplyTimes.Read();
        Assert.Equal(1, count);
        Assert.Equal(1, cumulative[^1]);
    }

    private static RegistrySnapshot Snapshot(long revision, params string[] names) => new()
    {
        Revision = revision,
        Services = names.ToImmutableDictionary(n => n, n => new ServiceEntry { Name = n, Scheme = ServiceScheme.Http, Hosts = [new ServiceHost("1", "10.0.0.1", 80, 1)] }),
    };
}
