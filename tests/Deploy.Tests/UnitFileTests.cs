using System.Globalization;

namespace Router.Deploy.Tests;

public sealed class UnitFileTests
{
    public static TheoryData<string> UnitFiles()
    {
        var data = new TheoryData<string>();
        foreach (var name in UnitsFolder.Files().Keys.Order(StringComparer.Ordinal))
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(UnitFiles))]
    public async Task Verify_EveryUnitFile_PassesSystemdAnalyze(string fileName)
    {
        // All of units/ is laid out together, so a sidekick's BindsTo=web@%i.service finds its
        // service's template, as it would in fleet.
        var result = await UnitVerifier.VerifyAsync(UnitsFolder.VerifiableName(fileName), UnitsFolder.Files());

        Assert.True(result.Passed, $"systemd-analyze verify {fileName}: {result}");
    }

    [Fact]
    public void UnitsFolder_Contents_IncludeRouterUnit()
    {
        Assert.Contains("router.service", UnitsFolder.Files().Keys);
    }

    [Fact]
    public async Task Verify_UnknownKey_Fails()
    {
        // The verifier itself must be able to fail, or every other verify test proves nothing.
        var files = new Dictionary<string, string>
        {
            ["broken.service"] = "[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/true\nRestartt=always\n",
        };

        var result = await UnitVerifier.VerifyAsync("broken.service", files);

        Assert.False(result.Passed);
        Assert.Contains("Restartt", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_MissingDependency_Fails()
    {
        var files = new Dictionary<string, string>
        {
            ["lonely.service"] = "[Unit]\nRequires=nobody-provides-this.service\n\n[Service]\nExecStart=/bin/true\n",
        };

        var result = await UnitVerifier.VerifyAsync("lonely.service", files);

        Assert.False(result.Passed, result.ToString());
    }

    [Fact]
    public async Task Verify_AbsentProgramNotOfANode_Fails()
    {
        var files = new Dictionary<string, string>
        {
            ["typo.service"] = "[Service]\nExecStart=/usr/bin/dokcer run x\n",
        };

        var result = await UnitVerifier.VerifyAsync("typo.service", files);

        Assert.False(result.Passed, result.ToString());
    }

    [Fact]
    public async Task Verify_FleetSectionAndNodeProgram_Pass()
    {
        var files = new Dictionary<string, string>
        {
            ["global.service"] = "[Unit]\nRequires=docker.service\nAfter=docker.service\n\n[Service]\nExecStart=/usr/bin/docker run x\n\n[X-Fleet]\nGlobal=true\n",
        };

        var result = await UnitVerifier.VerifyAsync("global.service", files);

        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void RouterUnit_FleetSection_IsGlobal()
    {
        var unit = UnitFile.Parse(UnitsFolder.Read("router.service"));

        Assert.Equal("true", unit.Value("X-Fleet", "Global"));
    }

    [Fact]
    public void RouterUnit_Restart_IsOnFailure()
    {
        var unit = UnitFile.Parse(UnitsFolder.Read("router.service"));

        Assert.Equal("on-failure", unit.Value("Service", "Restart"));
    }

    [Fact]
    public void RouterUnit_Stop_IsSigtermWithTimeoutAboveDrain()
    {
        var unit = UnitFile.Parse(UnitsFolder.Read("router.service"));
        var run = UnitFile.Words(unit.Value("Service", "ExecStart")!);
        var drain = int.Parse(OptionAfter(run, "--drain-timeout"), CultureInfo.InvariantCulture)
            + int.Parse(OptionAfter(run, "--shutdown-delay"), CultureInfo.InvariantCulture);
        var stop = UnitFile.Words(unit.Value("Service", "ExecStop")!);
        var dockerStopWait = int.Parse(OptionAfter(stop, "--time"), CultureInfo.InvariantCulture);
        var stopTimeout = int.Parse(unit.Value("Service", "TimeoutStopSec")!, CultureInfo.InvariantCulture);

        Assert.Equal("SIGTERM", unit.Value("Service", "KillSignal"));
        Assert.Equal(["/usr/bin/docker", "stop"], stop[..2]);
        Assert.True(dockerStopWait > drain, $"docker stop waits {dockerStopWait} s, no longer than the shutdown delay and drain ({drain} s)");
        Assert.True(stopTimeout > dockerStopWait, $"TimeoutStopSec={stopTimeout} does not outlast docker stop ({dockerStopWait} s)");
    }

    [Fact]
    public void RouterUnit_ExecStartPre_RemovesStaleContainerFirst()
    {
        var unit = UnitFile.Parse(UnitsFolder.Read("router.service"));
        var first = unit.Values("Service", "ExecStartPre")[0];

        // "-": there is usually nothing to remove, and that must not fail the start.
        Assert.Equal("-/usr/bin/docker rm -f router", first);
    }

    [Fact]
    public void RouterUnit_Container_RunsOnHostNetworkWithOnlyBindCapability()
    {
        var unit = UnitFile.Parse(UnitsFolder.Read("router.service"));
        var run = UnitFile.Words(unit.Value("Service", "ExecStart")!);

        Assert.Equal(["/usr/bin/docker", "run", "--rm", "--name", "router"], run[..5]);
        Assert.Contains("--net=host", run);
        Assert.Equal("ALL", OptionAfter(run, "--cap-drop"));
        Assert.Equal("NET_BIND_SERVICE", OptionAfter(run, "--cap-add"));
        Assert.DoesNotContain(run, w => w.Contains("no-new-privileges", StringComparison.Ordinal));
        Assert.DoesNotContain("--privileged", run);
    }

    [Fact]
    public void RouterUnit_Commands_UseAbsolutePrograms()
    {
        var unit = UnitFile.Parse(UnitsFolder.Read("router.service"));

        Assert.All(unit.Commands(), c => Assert.StartsWith("/", UnitFile.Program(c.Command), StringComparison.Ordinal));
    }

    [Fact]
    public void RouterUnit_Dependencies_StartAfterDockerAndEtcdWithNodeEnvironment()
    {
        var unit = UnitFile.Parse(UnitsFolder.Read("router.service"));
        var run = UnitFile.Words(unit.Value("Service", "ExecStart")!);

        Assert.Contains("docker.service", unit.Units("Requires"));
        Assert.Contains("docker.service", unit.Units("After"));
        Assert.Contains(unit.Units("After"), u => u.StartsWith("etcd", StringComparison.Ordinal));
        Assert.Contains("/etc/environment", unit.Values("Service", "EnvironmentFile"));
        Assert.Equal("${ETCD_ENDPOINTS}", OptionAfter(run, "--etcd"));
    }

    internal static string OptionAfter(string[] words, string option)
    {
        var at = Array.IndexOf(words, option);
        Assert.True(at >= 0 && at + 1 < words.Length, $"'{option}' with a value is missing from: {string.Join(' ', words)}");
        return words[at + 1];
    }
}
