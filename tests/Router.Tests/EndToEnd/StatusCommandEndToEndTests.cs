using System.Net;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// <c>router status</c>, the real executable asking a real router's admin port: problems first, services
/// with their hosts and health, etcd freshness; exit 1 while there are problems, 0 when clean, 2 when the
/// router cannot be reached or an option is bad.
/// </summary>
public sealed class StatusCommandEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    [Fact]
    public async Task Status_ProblemsAndASetAsideHost_ProblemsFirstHostsWithHealthExit1()
    {
        var web = Own(await TestBackend.StartAsync("web-1"));
        var dead = Ports.FreeTcp();
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await Etcd.PutAsync($"{Prefix}/web/hosts/2", $"127.0.0.1:{dead}");
        await Etcd.PutAsync($"{Prefix}/typo/scheme", "htp");
        await Proxy.WaitRoutedAsync("web.example.com");

        // Requests until the host nobody listens on was tried, failed to connect and was set aside; a host is set
        // aside for 2 s after its first failure, longer after each next one, so the command is asked until it
        // catches it (starting the command can take longer than the first pause).
        var (exit, output) = (0, "");
        await Wait.UntilAsync(async () =>
        {
            await Proxy.EchoAsync("web.example.com", "/");
            await Proxy.EchoAsync("web.example.com", "/");
            (exit, output) = await StatusAsync("--admin", $"127.0.0.1:{Proxy.AdminPort}");
            return output.Contains("set-aside", StringComparison.Ordinal);
        }, "router status to show host 2 set aside", TimeSpan.FromSeconds(90));

        Assert.True(exit == 1, output);
        Assert.StartsWith($"router 127.0.0.1:{Proxy.AdminPort}: ready", output, StringComparison.Ordinal);
        Assert.Matches(@"etcd: connected to http://127\.0\.0\.1:\d+/, revision \d+, table last known current \d+\.\d s ago", output);
        var problems = output.IndexOf("Problems (1):", StringComparison.Ordinal);
        var services = output.IndexOf("Services (1):", StringComparison.Ordinal);
        Assert.True(problems > 0 && services > problems, output);
        Assert.Contains($"    {Prefix}/typo/scheme: unknown scheme 'htp'", output, StringComparison.Ordinal);
        Assert.True(output.Contains("  web  http: 1/2 up", StringComparison.Ordinal), output);
        Assert.Contains($"    1  {web.Address}  up\n", output, StringComparison.Ordinal);
        Assert.Matches($@"    2  127\.0\.0\.1:{dead}  set-aside \(\d+ connect failures, until ", output);
        Assert.Contains("DNS: off", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_CleanAndReady_Exit0FromTheEnvironmentsAdminAddress()
    {
        var web = Own(await TestBackend.StartAsync("web-1"));
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await Proxy.WaitRoutedAsync("web.example.com");

        await using var process = TestProcess.Start(RouterProcess.Executable, ["status"], new Dictionary<string, string?> { ["ROUTER_ADMIN"] = $"127.0.0.1:{Proxy.AdminPort}" }, "status");

        Assert.Equal(0, await process.WaitForExitAsync());
        Assert.Contains("Problems (0):", process.Output, StringComparison.Ordinal);
        Assert.Contains("  web  http: 1/1 up", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NothingListening_Exit2SaysSo()
    {
        var port = Ports.FreeTcp();

        var (exit, output) = await StatusAsync("--admin", $"127.0.0.1:{port}");

        Assert.Equal(2, exit);
        Assert.StartsWith($"router status: cannot reach the router at http://127.0.0.1:{port}/status", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--admin", "localhost", "router status: --admin: 'localhost' is not ADDR:PORT")]
    [InlineData("--verbose", "", "router status: --verbose: unknown option (see router status --help)")]
    [InlineData("--admin", "--verbose", "router status: --admin: needs a value")]
    public async Task Status_BadOption_Exit2NamingIt(string option, string value, string expected)
    {
        var (exit, output) = await StatusAsync(value.Length > 0 ? [option, value] : [option]);

        Assert.Equal(2, exit);
        Assert.StartsWith(expected, output, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output)> StatusAsync(params string[] args)
    {
        await using var process = TestProcess.Start(RouterProcess.Executable, ["status", .. args], name: "status");
        var exit = await process.WaitForExitAsync();
        return (exit, process.Output);
    }
}
