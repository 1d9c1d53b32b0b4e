using System.Net;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// Two host keys with one address (an instance re-registered under a new id before the old key's lease ran
/// out): the real router keeps applying every later change to that service, lists each host under its own id
/// and measures each once. Loopback is not internal here, so <c>private</c> shows as 404.
/// </summary>
public sealed class DuplicateHostsEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture, "--internal-networks", "10.0.0.0/8")
{
    [Fact]
    public async Task DuplicateAddress_LaterChangesApply_PrivateAndDeletesTakeEffect()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await Etcd.PutAsync($"{Prefix}/demo/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/demo/hosts/1", web.Address);
        await Etcd.PutAsync($"{Prefix}/demo/hosts/2", web.Address);
        await Proxy.WaitRoutedAsync("demo.example.com");
        await WaitHostIdsAsync("1", "2");

        // A later change to the same service still applies: a third host, then private.
        var other = await Own(TestBackend.StartAsync("web-2"));
        await Etcd.PutAsync($"{Prefix}/demo/hosts/3", other.Address);
        await WaitHostIdsAsync("1", "2", "3");
        await Proxy.WaitRoutedAsync("demo.example.com", "/", e => e.Name == "web-2");

        await Etcd.PutAsync($"{Prefix}/demo/private", "");
        await Proxy.WaitStatusAsync("demo.example.com", "/", HttpStatusCode.NotFound);

        foreach (var id in new[] { "1", "2", "3" })
        {
            await Etcd.DeleteAsync($"{Prefix}/demo/hosts/{id}");
        }

        await WaitHostIdsAsync();
        await Etcd.DeleteAsync($"{Prefix}/demo/private");
        await Proxy.WaitStatusAsync("demo.example.com", "/", HttpStatusCode.ServiceUnavailable);

        var status = await Proxy.StatusAsync();
        Assert.Empty(status.GetProperty("problems").EnumerateArray());
        Assert.DoesNotContain("not applied", Proxy.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("same key has already been added", Proxy.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DuplicateAddress_StatusAndMetricsOneEntryPerHostId()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        await Etcd.PutAsync($"{Prefix}/demo/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/demo/hosts/1", web.Address);
        await Etcd.PutAsync($"{Prefix}/demo/hosts/2", web.Address);
        await Proxy.WaitRoutedAsync("demo.example.com");
        await WaitHostIdsAsync("1", "2");

        // Some traffic first, so that the per-service request series exist too.
        for (var i = 0; i < 4; i++)
        {
            var (code, _) = await Proxy.EchoAsync("demo.example.com", "/");
            Assert.Equal(HttpStatusCode.OK, code);
        }

        var service = await ServiceAsync("demo");
        Assert.NotNull(service);
        Assert.All(service.Value.GetProperty("hosts").EnumerateArray(), h => Assert.Equal(web.Address, h.GetProperty("address").GetString()));

        var metrics = PrometheusText.Parse(await MetricsAsync());
        Assert.Equal(
            [("demo", "1"), ("demo", "2")],
            metrics.Where(m => m.Name == "router_service_server_up").Select(m => (m.Labels["service"], m.Labels["instance"])).Order());
    }

    private async Task<string> MetricsAsync()
    {
        using var response = await Proxy.AdminGetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<JsonElement?> ServiceAsync(string name)
    {
        var status = await Proxy.StatusAsync();
        return status.GetProperty("services").EnumerateArray().Where(s => s.GetProperty("name").GetString() == name).Select(s => (JsonElement?)s).FirstOrDefault();
    }

    private Task WaitHostIdsAsync(params string[] ids) =>
        Wait.UntilAsync(async () => await ServiceAsync("demo") is { } service
            && service.GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("id").GetString()).SequenceEqual(ids),
            $"/status to list hosts [{string.Join(",", ids)}]");
}
