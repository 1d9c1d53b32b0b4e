using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// The verify environment is the test's own, whatever is installed on the machine (issue 19 §7: with
/// Debian's docker.io installed, its enabled docker.socket met the stand-ins and 8 verifies failed).
/// </summary>
public sealed class UnitVerifierTests
{
    [Fact]
    public async Task Verify_DependsOnEveryNodeUnit_Passes()
    {
        // Every stand-in is loaded, so each must be a valid unit of its type (a socket with a Listen setting).
        var needs = string.Join(' ', UnitVerifier.NodeUnits.Order(StringComparer.Ordinal));
        var files = new Dictionary<string, string>
        {
            ["needy.service"] = $"[Unit]\nRequires={needs}\nAfter={needs}\n\n[Service]\nExecStart=/bin/true\n",
        };

        var result = await UnitVerifier.VerifyAsync("needy.service", files);

        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public async Task SearchEnvironment_UnitPaths_AreTheFolderAndVendorUnitsOnly()
    {
        var dir = Directory.CreateTempSubdirectory("deploy-paths-");
        try
        {
            await using var process = TestProcess.Start(UnitVerifier.FindSystemdAnalyze(), ["unit-paths"], UnitVerifier.SearchEnvironment(dir.FullName), name: "systemd-analyze");
            var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            var paths = process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

            Assert.Equal(0, exitCode);
            // Nothing of this machine's /etc/systemd or /run/systemd (where installed packages enable their units).
            Assert.Equal([dir.FullName, "/usr/lib/systemd/system"], paths);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void StandIn_Socket_HasListenSetting()
    {
        var unit = UnitFile.Parse(UnitVerifier.StandIn("docker.socket", "/tmp/x"));

        Assert.Equal("/tmp/x/docker.socket.sock", unit.Value("Socket", "ListenStream"));
        Assert.Null(unit.Value("Service", "ExecStart"));
    }

    [Fact]
    public void StandIn_UnknownType_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => UnitVerifier.StandIn("docker.mount", "/tmp/x"));
    }
}
