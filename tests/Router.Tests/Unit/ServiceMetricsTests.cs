using Router.Metrics;

namespace Router.Tests;

public sealed class ServiceMetricsTests
{
    [Fact]
    public void Record_CountsByCodeAndMethod()
    {
        var metrics = new ServiceMetrics();
        metrics.Record("GET", 200, TimeSpan.FromMilliseconds(1));
        metrics.Record("GET", 200, TimeSpan.FromMilliseconds(1));
        metrics.Record("PROPFIND", 503, TimeSpan.FromMilliseconds(1));

        Assert.Equal([(200, "GET", 2L), (503, "other", 1L)], metrics.Requests);
    }

    [Fact]
    public void Histogram_CumulativeBucketsCountAndSum()
    {
        var metrics = new ServiceMetrics();
        metrics.Record("GET", 200, TimeSpan.FromMilliseconds(3));
        metrics.Record("GET", 200, TimeSpan.FromMilliseconds(30));
        metrics.Record("GET", 200, TimeSpan.FromSeconds(20));

        var (cumulative, count, sum) = metrics.Histogram();

        Assert.Equal(3, count);
        Assert.Equal(1, cumulative[0]);
        Assert.Equal(2, cumulative[Array.IndexOf(ServiceMetrics.Buckets, 0.05)]);
        Assert.Equal(2, cumulative[ServiceMetrics.Buckets.Length - 1]);
        Assert.Equal(3, cumulative[^1]);
        Assert.Equal(20.033, sum, precision: 3);
    }
}
