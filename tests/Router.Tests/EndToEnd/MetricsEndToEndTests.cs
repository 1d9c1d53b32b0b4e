using System.Net;
using Router.Testing;

namespace Router.Tests;

/// <summary>/metrics of the real router: valid exposition, and series bounded by the services routed now.</summary>
public sealed class MetricsEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    [Fact]
    public async Task ServiceLeavesRegistry_ItsSeriesRemovedOthersKept()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        foreach (var service in new[] { "gone", "kept" })
        {
            await Etcd.PutAsync($"{Prefix}/{service}/scheme", "http");
            await Etcd.PutAsync($"{Prefix}/{service}/hosts/1", web.Address);
            await Proxy.WaitRoutedAsync($"{service}.example.com");
            var (status, _) = await Proxy.EchoAsync($"{service}.example.com", "/");
            Assert.Equal(HttpStatusCode.OK, status);
        }

        var before = await MetricsAsync();
        foreach (var family in new[] { "router_service_requests_total", "router_service_request_duration_seconds_count", "router_service_server_up" })
        {
            Assert.Contains(before, s => s.Name == family && s.Labels.GetValueOrDefault("service") == "gone");
        }

        await Etcd.DeletePrefixAsync($"{Prefix}/gone/");
        await Proxy.WaitStatusAsync("gone.example.com", "/", HttpStatusCode.NotFound);

        await Wait.UntilAsync(async () => !(await MetricsAsync()).Any(s => s.Labels.GetValueOrDefault("service") == "gone"), "every series of the removed service to go");
        var after = await MetricsAsync();
        Assert.Contains(after, s => s.Name == "router_service_requests_total" && s.Labels["service"] == "kept" && s.Value >= 1);
        Assert.Contains(after, s => s.Name == "router_service_server_up" && s.Labels["service"] == "kept");
    }

    private async Task<IReadOnlyList<PrometheusText.Sample>> MetricsAsync()
    {
        using var response = await Proxy.AdminGetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }
}
