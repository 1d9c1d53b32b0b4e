using System.Net;
using DnsClient;
using Router.Testing;

namespace Router.Tests;

/// <summary>The DNS responder's state in the router's /status and /metrics, after real queries.</summary>
public sealed class DnsStatusEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    [Fact]
    public async Task StatusAndMetrics_ShowBindingUpstreamHealthCacheAndAnswers()
    {
        await using var upstream = await DnsmasqProcess.StartAsync("--address=/example.test/10.9.8.7", "--local-ttl=300");
        var dnsPort = Ports.FreeTcpAndUdp();
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix,
        [
            "--dns", $"127.0.0.1:{dnsPort}", "--dns-upstream", $"127.0.0.1:{upstream.Port}", "--dns-answer", "127.0.0.9",
        ]);
        var client = new LookupClient(new LookupClientOptions(new NameServer(IPAddress.Loopback, dnsPort)) { UseCache = false, Timeout = TimeSpan.FromSeconds(5), Retries = 3 });

        await client.QueryAsync("web.local", QueryType.A);
        await Wait.UntilAsync(async () => (await client.QueryAsync("host.example.test", QueryType.A)).Answers.ARecords().Any(), "the relayed answer");
        await Wait.UntilAsync(async () => (await client.QueryAsync("host.example.test", QueryType.A)).Header.ResponseCode == DnsHeaderResponseCode.NoError
            && (await router.StatusAsync()).GetProperty("dns").GetProperty("cacheHits").GetInt64() > 0, "a cache hit");

        var dns = (await router.StatusAsync()).GetProperty("dns");
        using var scrape = await router.AdminGetAsync("/metrics");
        var metrics = (await scrape.Content.ReadAsStringAsync()).Split('\n');

        Assert.True(dns.GetProperty("bound").GetBoolean());
        Assert.Equal($"127.0.0.1:{dnsPort}", dns.GetProperty("listen").GetString());
        Assert.Equal(1, dns.GetProperty("cacheEntries").GetInt32());
        var up = Assert.Single(dns.GetProperty("upstreams").EnumerateArray());
        Assert.Equal($"127.0.0.1:{upstream.Port}", up.GetProperty("address").GetString());
        Assert.Equal("up", up.GetProperty("health").GetString());
        Assert.Contains("router_dns_bound 1", metrics);
        Assert.Contains("router_dns_answers_total{type=\"A\",source=\"local\",rcode=\"NOERROR\"} 1", metrics);
        Assert.Contains(metrics, l => l.StartsWith("router_dns_answers_total{type=\"A\",source=\"cache\",rcode=\"NOERROR\"} ", StringComparison.Ordinal));
        Assert.Contains("router_dns_cache_entries 1", metrics);
        Assert.Contains(metrics, l => l.StartsWith("router_dns_cache_hits_total ", StringComparison.Ordinal) && l != "router_dns_cache_hits_total 0");
        Assert.Contains($"router_dns_upstream_up{{upstream=\"127.0.0.1:{upstream.Port}\"}} 1", metrics);
        Assert.Contains($"router_dns_upstream_failures_total{{upstream=\"127.0.0.1:{upstream.Port}\",reason=\"timeout\"}} 0", metrics);
        Assert.Contains(metrics, l => l.StartsWith($"router_dns_upstream_duration_seconds_count{{upstream=\"127.0.0.1:{upstream.Port}\"}} ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StatusAndMetrics_DnsOff_NoDnsSection()
    {
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--dns", "off"]);

        var status = await router.StatusAsync();
        using var scrape = await router.AdminGetAsync("/metrics");
        var metrics = await scrape.Content.ReadAsStringAsync();

        Assert.Equal(System.Text.Json.JsonValueKind.Null, status.GetProperty("dns").ValueKind);
        Assert.DoesNotContain("router_dns_", metrics, StringComparison.Ordinal);
    }
}
