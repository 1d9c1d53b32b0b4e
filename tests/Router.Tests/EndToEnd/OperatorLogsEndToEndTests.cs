using System.Net;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// What the real router writes to its log for an operator: each registry change in words (which service, and
/// how), a failing host as one warning rather than one per request, <c>--log-level</c> honoured.
/// </summary>
public sealed class OperatorLogsEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture, "--log-level", "debug")
{
    [Fact]
    public async Task Change_EachKind_OneLineSayingWhichServiceAndHow()
    {
        var one = Own(await TestBackend.StartAsync("web-1"));
        var two = Own(await TestBackend.StartAsync("web-2"));
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", one.Address);
        await Proxy.WaitRoutedAsync("web.example.com");

        await Etcd.PutAsync($"{Prefix}/web/hosts/2", two.Address);
        await WaitChangeAsync($"web: +host 2={two.Address}");
        await Etcd.DeleteAsync($"{Prefix}/web/hosts/1");
        await WaitChangeAsync($"web: -host 1={one.Address}");
        await Etcd.PutAsync($"{Prefix}/web/hosts/2", one.Address);
        await WaitChangeAsync($"web: host 2 {two.Address} → {one.Address}");
        await Etcd.PutAsync($"{Prefix}/web/private", "");
        await WaitChangeAsync("web: private on");
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http-and-https");
        await WaitChangeAsync("web: scheme http → http-and-https");
        await Etcd.PutAsync($"{Prefix}/web/host_port", "17001");
        await WaitChangeAsync("web: host_port 17001 set");
        await Etcd.PutAsync($"{Prefix}/api/scheme", "http");
        await WaitChangeAsync("api added (http, 0 hosts)");
        await Etcd.DeleteAsync($"{Prefix}/api/scheme");
        await WaitChangeAsync("api removed");
    }

    [Fact]
    public async Task HostDown_OneWarningThenDebugWhileItStaysDown()
    {
        var web = Own(await TestBackend.StartAsync("web-1"));
        var dead = $"127.0.0.1:{Ports.FreeTcp()}";
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await Etcd.PutAsync($"{Prefix}/web/hosts/2", dead);
        await Proxy.WaitRoutedAsync("web.example.com");

        // Requests until the dead host failed, sat out its first pause (2 s), was tried again and failed again.
        await Wait.UntilAsync(async () =>
        {
            var (status, _) = await Proxy.EchoAsync("web.example.com", "/");
            Assert.Equal(HttpStatusCode.OK, status);
            return ConnectFailures(dead).Count >= 2;
        }, "two connect failures of the dead host", TimeSpan.FromSeconds(60));

        var failures = ConnectFailures(dead);
        Assert.Equal(["Warning"], failures.Where(l => l != "Debug"));
        Assert.Equal("Warning", failures[0]);
    }

    [Fact]
    public async Task LogLevelDebug_DebugLinesWritten()
    {
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");

        await Wait.UntilAsync(() => Events().Any(e => Template(e).StartsWith("Route table at revision", StringComparison.Ordinal) && Level(e) == "Debug"), "a debug line");
    }

    [Fact]
    public async Task LogLevelWarning_InformationLeftOutWarningsKept()
    {
        var admin = Ports.FreeTcp();
        await using var quiet = TestProcess.Start(RouterProcess.Executable, ["--etcd", Etcd.Url, "--prefix", Prefix, "--http", $"127.0.0.1:{Ports.FreeTcp()}", "--admin", $"127.0.0.1:{admin}", "--dns", "off", "--log-level", "warning"], name: "router");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}") };
        await Wait.UntilAsync(async () => (await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, "the quiet router to be ready");
        await Etcd.PutAsync($"{Prefix}/typo/scheme", "htp");
        await Wait.UntilAsync(() => quiet.Output.Contains("Problem in service", StringComparison.Ordinal), "the problem warning");

        Assert.DoesNotContain("Router starting", quiet.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Registry read at revision", quiet.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Application started", quiet.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FirstTableFromEtcd_HeapCompactedOnceNotOnChanges()
    {
        // The router's own etcd read happened before the test wrote anything: the first table had no service.
        await Wait.UntilAsync(() => HeapSettled().Count == 1, "the heap-settled line");
        Assert.Equal(0, HeapSettled()[0].GetProperty("Services").GetInt32());
        Assert.True(HeapSettled()[0].GetProperty("HeapMb").GetDouble() > 0);

        var web = Own(await TestBackend.StartAsync("web-1"));
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        // Waited for, so the host below is a change of its own and not part of one "web added" line.
        await WaitChangeAsync("web added (http, 0 hosts)");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await WaitChangeAsync($"web: +host 1={web.Address}");
        await Etcd.DeleteAsync($"{Prefix}/web/hosts/1");
        await WaitChangeAsync($"web: -host 1={web.Address}");

        Assert.Single(HeapSettled());
    }

    private List<JsonElement> HeapSettled() =>
        [.. Events().Where(e => e.TryGetProperty("EventId", out var id) && id.GetProperty("Id").GetInt32() == EventIds.HeapSettled)];

    private Task WaitChangeAsync(string expected) =>
        Wait.UntilAsync(() => Events().Any(e => Template(e).StartsWith("Registry change at revision", StringComparison.Ordinal)
            && e.GetProperty("Changes").GetString() == expected), $"the change line '{expected}'");

    /// <summary>The level of each "Connect to … failed" line about <paramref name="host"/>, in order.</summary>
    private List<string> ConnectFailures(string host) =>
        [.. Events().Where(e => Template(e).StartsWith("Connect to {Service} host {Host} failed", StringComparison.Ordinal) && e.GetProperty("Host").GetString() == host).Select(Level)];

    /// <summary>Every compact-JSON log event the router wrote so far.</summary>
    private IEnumerable<JsonElement> Events() =>
        Proxy.Process.Lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone());

    private static string Template(JsonElement e) => e.TryGetProperty("@mt", out var t) ? t.GetString() ?? "" : "";

    // Serilog's compact format leaves @l out for Information.
    private static string Level(JsonElement e) => e.TryGetProperty("@l", out var l) ? l.GetString() ?? "" : "Information";
}
