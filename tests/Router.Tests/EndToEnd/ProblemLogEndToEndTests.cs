using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// What the real router writes to its log about registry problems: each new or changed problem once, each
/// fixed one once as resolved, also when the change that brought it alters no routed service.
/// </summary>
public sealed class ProblemLogEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    private const string FoundTemplate = "Problem in service {Service} at {Key}: {Problem}";
    private const string ResolvedTemplate = "Problem resolved in service {Service} at {Key}: {Problem}";

    [Fact]
    public async Task NewFolderWithTypoScheme_LoggedOnceThenResolvedOnce()
    {
        var web = await Own(TestBackend.StartAsync("web-1"));
        var scheme = $"{Prefix}/typo/scheme";

        // The folder's first key is a bad scheme: the registry change is empty (no service added), the problem is not.
        await Etcd.PutAsync(scheme, "htp");
        await WaitLoggedAsync(FoundTemplate, scheme);

        // More keys in the same skipped folder, and changes elsewhere: the problem stays, it is not logged again.
        await Etcd.PutAsync($"{Prefix}/typo/hosts/1", web.Address);
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await Proxy.WaitRoutedAsync("web.example.com");

        // Fixed: logged once as resolved, and the service routes.
        await Etcd.PutAsync(scheme, "http");
        await WaitLoggedAsync(ResolvedTemplate, scheme);
        await Proxy.WaitRoutedAsync("typo.example.com");

        // A changed problem is a new one: a bad host, then the same key with another bad value.
        var host = $"{Prefix}/web/hosts/2";
        await Etcd.PutAsync(host, "127.0.0.1:notaport");
        await WaitLoggedAsync(FoundTemplate, host, "notaport");
        await Etcd.PutAsync(host, "127.0.0.1:99999");
        await WaitLoggedAsync(FoundTemplate, host, "99999");
        await WaitLoggedAsync(ResolvedTemplate, host, "notaport");

        // A last problem as a marker: every line from the changes before it is in the log by the time it is.
        var marker = $"{Prefix}/marker/scheme";
        await Etcd.PutAsync(marker, "gopher");
        await WaitLoggedAsync(FoundTemplate, marker);

        var lines = Logged();
        Assert.Single(lines, l => l.Template == FoundTemplate && l.Key == scheme);
        Assert.Single(lines, l => l.Template == ResolvedTemplate && l.Key == scheme);
        Assert.Single(lines, l => l.Template == FoundTemplate && l.Key == host && l.Problem.Contains("notaport", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Template == FoundTemplate && l.Key == host && l.Problem.Contains("99999", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Template == ResolvedTemplate && l.Key == host);
        Assert.Equal(6, lines.Count);
    }

    [Fact]
    public async Task HostPortIsRoutersOwnPort_LoggedOnce()
    {
        var key = $"{Prefix}/web/host_port";
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync(key, Proxy.AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitLoggedAsync(FoundTemplate, key, "router's own port");

        // Re-checked every pass of the listener loop; logged once all the same. Another problem as a marker.
        var marker = $"{Prefix}/marker/scheme";
        await Etcd.PutAsync(marker, "gopher");
        await WaitLoggedAsync(FoundTemplate, marker);
        Assert.Single(Logged(), l => l.Template == FoundTemplate && l.Key == key);

        await Etcd.DeleteAsync(key);
        await WaitLoggedAsync(ResolvedTemplate, key, "router's own port");
    }

    private Task WaitLoggedAsync(string template, string key, string? containing = null) =>
        Wait.UntilAsync(() => Logged().Any(l => l.Template == template && l.Key == key && (containing is null || l.Problem.Contains(containing, StringComparison.Ordinal))),
            $"'{template}' for {key} in the router's log");

    /// <summary>The problem-log lines of the router's compact JSON log (its stdout is redirected, so it writes JSON).</summary>
    private List<(string Template, string Key, string Problem)> Logged()
    {
        var found = new List<(string, string, string)>();
        foreach (var line in Proxy.Process.Lines.ToList())
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.TryGetProperty("@mt", out var template) && template.GetString() is FoundTemplate or ResolvedTemplate)
            {
                found.Add((template.GetString()!, root.GetProperty("Key").GetString()!, root.GetProperty("Problem").GetString()!));
            }
        }

        return found;
    }
}
