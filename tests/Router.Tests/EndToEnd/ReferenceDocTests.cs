using System.Globalization;
using System.Net;
using DnsClient;
using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Hosting;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// docs/reference.md cannot go stale: every option the command line knows, every field a real router's
/// /status has and every metric its /metrics has is listed there, and every metric listed there still exists.
/// </summary>
public sealed partial class ReferenceDocTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    private static readonly string Reference = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "reference.md"));

    [Fact]
    public void EveryOption_ListedInItsThreeForms()
    {
        var missing = new List<string>();
        foreach (var name in RouterCommandLine.Names)
        {
            var environment = "ROUTER_" + name.ToUpperInvariant().Replace('-', '_');
            var setting = string.Concat(name.Split('-').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            var row = Reference.Split('\n').FirstOrDefault(l => l.StartsWith($"| `--{name}` |", StringComparison.Ordinal));
            if (row is null || !row.Contains($"`{environment}`", StringComparison.Ordinal) || !row.Contains($"`{setting}`", StringComparison.Ordinal))
            {
                missing.Add($"--{name} ({environment}, {setting})");
            }
        }

        Assert.True(missing.Count == 0, "docs/reference.md lacks a row (option, environment, appsettings) for: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryListedOption_IsStillAnOption()
    {
        var listed = OptionRow().Matches(Reference).Select(m => m.Groups[1].Value);

        Assert.Empty(listed.Except(RouterCommandLine.Names));
    }

    [Fact]
    public async Task EveryStatusFieldAndMetricOfARealRouter_Listed()
    {
        // A router with everything that adds fields: a host_port, a problem, DNS with an upstream, a request.
        var dnsPort = Ports.FreeTcpAndUdp();
        await using var upstream = await DnsmasqProcess.StartAsync();
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--dns", $"127.0.0.1:{dnsPort}", "--dns-upstream", $"127.0.0.1:{upstream.Port}"]);
        await using var backend = await TestBackend.StartAsync("web-1");
        var hostPort = Ports.FreeTcp();
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", backend.Address);
        await _etcd.PutAsync($"{_prefix}/web/host_port", hostPort.ToString(CultureInfo.InvariantCulture));
        await _etcd.PutAsync($"{_prefix}/bad/scheme", "ftp");
        await router.WaitRoutedAsync("web.local");
        await Wait.UntilAsync(async () => (await router.StatusAsync()).GetProperty("listeners").GetArrayLength() > 0, "the host_port listener");
        await Wait.UntilAsync(async () => (await router.StatusAsync()).GetProperty("problems").GetArrayLength() > 0, "the problem");
        var client = new LookupClient(new LookupClientOptions(new NameServer(IPAddress.Loopback, dnsPort)) { UseCache = false, Timeout = TimeSpan.FromSeconds(5), Retries = 3 });
        await client.QueryAsync("web.local", QueryType.A);

        var fields = new SortedSet<string>(StringComparer.Ordinal);
        Flatten((await router.StatusAsync()), "", fields);
        var metrics = (await (await router.AdminGetAsync("/metrics")).Content.ReadAsStringAsync())
            .Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();

        Assert.NotEmpty(metrics);
        Assert.Contains("dns.answers[].count", fields);
        var unlistedFields = fields.Where(f => !Reference.Contains($"| `{f}` |", StringComparison.Ordinal)).ToList();
        var unlistedMetrics = metrics.Where(m => !Reference.Contains($"| `{m}` |", StringComparison.Ordinal)).ToList();
        Assert.True(unlistedFields.Count == 0, "/status fields missing from docs/reference.md: " + string.Join(", ", unlistedFields));
        Assert.True(unlistedMetrics.Count == 0, "metrics missing from docs/reference.md: " + string.Join(", ", unlistedMetrics));
    }

    [Fact]
    public void EveryListedMetric_StillInTheSource()
    {
        var source = string.Concat(Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "src"), "*.cs", SearchOption.AllDirectories).Select(File.ReadAllText));
        var listed = MetricRow().Matches(Reference).Select(m => m.Groups[1].Value).ToList();

        Assert.NotEmpty(listed);
        var gone = listed.Where(m => !Emitted(source, m)).ToList();
        Assert.True(gone.Count == 0, "metrics in docs/reference.md that no code emits: " + string.Join(", ", gone));
    }

    /// <summary>The name is in the source whole, or as a quoted prefix and a quoted rest (families rendered by one function: "router_tcp" + "connections_total").</summary>
    private static bool Emitted(string source, string metric)
    {
        if (source.Contains(metric, StringComparison.Ordinal))
        {
            return true;
        }

        for (var cut = metric.IndexOf('_', StringComparison.Ordinal); cut > 0; cut = metric.IndexOf('_', cut + 1))
        {
            if (source.Contains($"\"{metric[..cut]}\"", StringComparison.Ordinal) && source.Contains($"\"{metric[(cut + 1)..]}\"", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static void Flatten(JsonElement element, string path, ISet<string> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}", into);
                }

                break;
            case JsonValueKind.Array when element.GetArrayLength() > 0 && element[0].ValueKind == JsonValueKind.Object:
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, path + "[]", into);
                }

                break;
            default:
                into.Add(path);
                break;
        }
    }

    [GeneratedRegex(@"^\| `--([a-z-]+)` \|", RegexOptions.Multiline)]
    private static partial Regex OptionRow();

    [GeneratedRegex(@"^\| `(router_[a-z_]+)` \|", RegexOptions.Multiline)]
    private static partial Regex MetricRow();
}
