using System.Net;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// Readiness in the shipped router units: the docker unit's <c>ExecStartPost=</c> wait, run as written against
/// a real router (0 once <c>/readyz</c> answers 200; non-zero with a message when it never does within its
/// bound), and <c>units/router-binary.service</c>, the <c>Type=notify</c> unit with the same command line.
/// </summary>
public sealed class RouterReadinessUnitTests
{
    private const string ShippedAdmin = "127.0.0.1:9090";
    private const string ShippedBound = "120";

    private static readonly UnitFile Docker = UnitFile.Parse(UnitsFolder.Read("router.service"));
    private static readonly UnitFile Binary = UnitFile.Parse(UnitsFolder.Read("router-binary.service"));

    [Fact]
    public void DockerUnit_ReadinessWait_AsksTheAdminAddressOfItsCommandLine()
    {
        var words = UnitFile.Words(Single(Docker, "ExecStart"));
        Assert.Equal(ShippedAdmin, words[Array.IndexOf(words, "--admin") + 1]);
        Assert.Contains($"http://{ShippedAdmin}/readyz", WaitScript(), StringComparison.Ordinal);
        Assert.Equal("simple", Docker.Value("Service", "Type") ?? "simple");
    }

    [Fact]
    public async Task ReadinessWait_RouterBecomesReady_ExitsZero()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var admin = $"127.0.0.1:{Ports.FreeTcp()}";

        // Started before the router, as systemd starts it right after docker run: it must wait, not fail.
        await using var wait = StartWait(admin, ShippedBound);
        await using var router = TestProcess.Start(RouterProcess.Executable,
            ["--etcd", etcd.Url, "--prefix", EtcdFixture.NewPrefix(), "--http", $"127.0.0.1:{Ports.FreeTcp()}", "--admin", admin, "--dns", "off", "--tcp-bind", "127.0.0.1"], name: "router");
        var code = await wait.WaitForExitAsync(TimeSpan.FromSeconds(90));

        Assert.True(code == 0, $"the wait exited {code}: {wait.Output}");
        using var client = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"http://{admin}/readyz")).StatusCode);
    }

    [Fact]
    public async Task ReadinessWait_RouterNeverReady_FailsWithMessageAfterItsBound()
    {
        // etcd never answers and there is no state file: the router serves (/healthz 200) but is never ready.
        var admin = $"127.0.0.1:{Ports.FreeTcp()}";
        await using var router = TestProcess.Start(RouterProcess.Executable,
            ["--etcd", $"http://127.0.0.1:{Ports.FreeTcp()}", "--http", $"127.0.0.1:{Ports.FreeTcp()}", "--admin", admin, "--dns", "off", "--tcp-bind", "127.0.0.1"], name: "router");
        using var client = new HttpClient();
        await Wait.UntilAsync(async () => (await client.GetAsync($"http://{admin}/healthz")).StatusCode == HttpStatusCode.OK, "the router to serve its admin port");

        await using var wait = StartWait(admin, "3");
        var code = await wait.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, code);
        Assert.Contains($"router not ready: http://{admin}/readyz did not answer 200 within 3 s", wait.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync($"http://{admin}/readyz")).StatusCode);
    }

    [Fact]
    public void BinaryUnit_TypeNotify_MainProcessNotifiesWithWatchdog()
    {
        Assert.Equal("notify", Binary.Value("Service", "Type"));
        Assert.Equal("main", Binary.Value("Service", "NotifyAccess"));
        Assert.True(int.Parse(Binary.Value("Service", "WatchdogSec")!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(Docker.Value("Service", "LimitNOFILE"), Binary.Value("Service", "LimitNOFILE"));
        Assert.Equal(Docker.Value("Service", "Restart"), Binary.Value("Service", "Restart"));
        Assert.Equal("/usr/local/bin/router", UnitFile.Program(Single(Binary, "ExecStart")));
        // Its own readiness is READY=1: no wait after the start.
        Assert.Empty(Binary.Values("Service", "ExecStartPost"));
    }

    [Fact]
    public void BinaryUnit_CommandLine_IsTheContainersAfterTheImage()
    {
        var container = UnitFile.Words(Single(Docker, "ExecStart"));
        var afterImage = container[(Array.IndexOf(container, "${ROUTER_IMAGE}") + 1)..];
        Assert.NotEmpty(afterImage);

        Assert.Equal(afterImage, UnitFile.Words(Single(Binary, "ExecStart"))[1..]);
    }

    [Fact]
    public async Task BinaryUnit_Verify_PassesSystemdAnalyze()
    {
        var result = await UnitVerifier.VerifyAsync("router-binary.service", UnitsFolder.Files());

        Assert.True(result.Passed, result.ToString());
    }

    private static string Single(UnitFile unit, string key) => Assert.Single(unit.Values("Service", key));

    /// <summary>The shell script of the docker unit's ExecStartPost, as systemd hands it to /bin/sh.</summary>
    private static string WaitScript()
    {
        var command = Single(Docker, "ExecStartPost");
        const string Shell = "/bin/sh -c '";
        Assert.StartsWith(Shell, command, StringComparison.Ordinal);
        Assert.EndsWith("'", command, StringComparison.Ordinal);
        var script = command[Shell.Length..^1];

        // systemd would expand $ and % in the line: the script uses neither, so it runs here exactly as there.
        Assert.DoesNotContain('$', script);
        Assert.DoesNotContain('%', script);
        return script;
    }

    /// <summary>The shipped wait, pointed at <paramref name="admin"/> and bounded by <paramref name="seconds"/>.</summary>
    private static TestProcess StartWait(string admin, string seconds)
    {
        var script = WaitScript();
        Assert.Contains($"timeout {ShippedBound} ", script, StringComparison.Ordinal);
        Assert.Contains($"within {ShippedBound} s", script, StringComparison.Ordinal);
        script = script.Replace(ShippedAdmin, admin, StringComparison.Ordinal)
            .Replace($"timeout {ShippedBound} ", $"timeout {seconds} ", StringComparison.Ordinal)
            .Replace($"within {ShippedBound} s", $"within {seconds} s", StringComparison.Ordinal);
        return TestProcess.Start("/bin/sh", ["-c", script], name: "readiness wait");
    }
}
