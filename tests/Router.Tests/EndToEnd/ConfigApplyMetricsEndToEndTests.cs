using System.Net;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// <c>router_config_apply_seconds</c> on the real router: a histogram with one observation per applied etcd
/// answer (the first full read, then each watch event), from its arrival to the new table in use.
/// </summary>
public sealed class ConfigApplyMetricsEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    [Fact]
    public async Task Changes_EachOneObservedInTheHistogram()
    {
        var first = await ApplyHistogramAsync();
        Assert.True(first.Count >= 1, "the first full read is an observation");

        // Each change waits for the one before to be observed: two puts in quick succession may reach the router in
        // one watch answer, which is one apply and one observation (CI saw 2 observations for 3 changes that way).
        var web = Own(await TestBackend.StartAsync("web-1"));
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        var count = await ObservedOnceMoreAsync(first.Count);
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await Proxy.WaitRoutedAsync("web.example.com");
        count = await ObservedOnceMoreAsync(count);
        await Etcd.DeleteAsync($"{Prefix}/web/hosts/1");
        await Proxy.WaitStatusAsync("web.example.com", "/", HttpStatusCode.ServiceUnavailable);
        await ObservedOnceMoreAsync(count);

        var after = await ApplyHistogramAsync();
        Assert.Equal(first.Count + 3, after.Count);
        Assert.True(after.Sum > first.Sum);

        // Cumulative buckets: never falling, the last one (+Inf) is the count.
        Assert.Equal("+Inf", after.Buckets[^1].Le);
        Assert.Equal(after.Count, after.Buckets[^1].Count);
        for (var i = 1; i < after.Buckets.Count; i++)
        {
            Assert.True(after.Buckets[i].Count >= after.Buckets[i - 1].Count, $"bucket le={after.Buckets[i].Le} below the one before");
        }
    }

    // Waits until the histogram has grown past `before`, and checks it grew by exactly one: one change, one observation.
    private async Task<long> ObservedOnceMoreAsync(long before)
    {
        long now = before;
        await Wait.UntilAsync(async () => (now = (await ApplyHistogramAsync()).Count) > before, "the change to be observed in router_config_apply_seconds");
        Assert.Equal(before + 1, now);
        return now;
    }

    private async Task<(long Count, double Sum, IReadOnlyList<(string Le, long Count)> Buckets)> ApplyHistogramAsync()
    {
        using var response = await Proxy.AdminGetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE router_config_apply_seconds histogram", text, StringComparison.Ordinal);
        var samples = PrometheusText.Parse(text);
        var buckets = samples.Where(s => s.Name == "router_config_apply_seconds_bucket").Select(s => (s.Labels["le"], (long)s.Value)).ToList();
        Assert.True(buckets.Count > 2, text);
        var count = (long)samples.Single(s => s.Name == "router_config_apply_seconds_count").Value;
        var sum = samples.Single(s => s.Name == "router_config_apply_seconds_sum").Value;
        return (count, sum, buckets);
    }
}
