namespace Router.Deploy.Tests;

/// <summary>
/// deploy/flatcar/cluster.bu: Butane's flatcar spec 1.0.0 (checked by <see cref="ButaneSpec"/>, the binary
/// not being packaged here), the units it installs identical to the shipped ones and each passing
/// <c>systemd-analyze verify</c>, and the node set up as a cloud-config node is.
/// </summary>
public sealed class ButaneConfigTests
{
    private const string BridgeAddress = "172.17.42.1";

    [Fact]
    public void Spec_Document_ConformsToFlatcar100()
    {
        var errors = ButaneSpec.Validate(ButaneConfig.Load().Root);

        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Fact]
    public void Spec_UnknownKeysAndBadValues_AreReported()
    {
        // The check must be able to fail, or the test above proves nothing: cloud-config's "permissions"
        // and "content", a decimal mode, a unit without a valid name, a second variant.
        var config = ButaneConfig.Parse("""
            variant: fcos
            version: 1.0.0
            storage:
              files:
                - path: /etc/x
                  permissions: "0644"
                  mode: 644
                  contents:
                    inline: x
                    source: https://example.com/x
                - path: etc/relative
                  contents:
                    content: y
              disks: []
            systemd:
              units:
                - name: router
                  enabled: yes
                  command: start
                  dropins:
                    - name: 10-x
            """);

        var errors = string.Join('\n', ButaneSpec.Validate(config.Root));

        Assert.Contains("variant: 'fcos'", errors, StringComparison.Ordinal);
        Assert.Contains("storage.files[0].permissions: unknown key", errors, StringComparison.Ordinal);
        Assert.Contains("storage.files[0].mode: '644'", errors, StringComparison.Ordinal);
        Assert.Contains("storage.files[0].contents: source and inline exclude each other", errors, StringComparison.Ordinal);
        Assert.Contains("storage.files[1].path: 'etc/relative' must be an absolute path", errors, StringComparison.Ordinal);
        Assert.Contains("storage.files[1].contents.content: unknown key", errors, StringComparison.Ordinal);
        Assert.Contains("storage.disks: used, but its keys are not written", errors, StringComparison.Ordinal);
        Assert.Contains("systemd.units[0].name: 'router' is no unit name", errors, StringComparison.Ordinal);
        Assert.Contains("systemd.units[0].enabled: 'yes' must be true or false", errors, StringComparison.Ordinal);
        Assert.Contains("systemd.units[0].command: unknown key", errors, StringComparison.Ordinal);
        Assert.Contains("systemd.units[0].dropins[0].name: a drop-in's name ends in .conf", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Spec_QuotedMode_IsReported()
    {
        // "0644" in quotes is a string, which Butane refuses for an integer field.
        var config = ButaneConfig.Parse("variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: /x\n      mode: \"0644\"\n");

        Assert.Contains(ButaneSpec.Validate(config.Root), e => e.StartsWith("storage.files[0].mode", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("router.service", "router.service")]
    [InlineData("node-secrets.service", "node-secrets.service")]
    public void Unit_Embedded_IsIdenticalToUnitsFile(string unit, string file)
    {
        var config = ButaneConfig.Load();

        Assert.Equal(UnitsFolder.Read(file).TrimEnd('\n'), config.UnitContents(unit).TrimEnd('\n'));
    }

    [Fact]
    public void NodeSecretsScript_Embedded_IsIdenticalToDeployFile()
    {
        var config = ButaneConfig.Load();
        var file = config.File("/opt/bin/node-secrets");

        Assert.Equal(File.ReadAllText(NodeSecretsScript.Path).TrimEnd('\n'), config.FileContents("/opt/bin/node-secrets").TrimEnd('\n'));
        Assert.Equal("0755", CloudConfig.Scalar(file, "mode"));
    }

    [Fact]
    public void Units_EveryNodeUnit_IsEnabled()
    {
        // Every node gets this same file, so "enabled" on every node is what fleet's Global=true did.
        var config = ButaneConfig.Load();

        Assert.All(config.Units(), u => Assert.Equal("true", CloudConfig.Scalar(u, "enabled")));
        Assert.Equal(
            ["etcd-member.service", "node-environment.service", "node-secrets.service", "router.service"],
            config.Units().Select(u => CloudConfig.Scalar(u, "name")!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void DockerDaemonJson_Bridge_IsFixedAddressWithRouterDnsFirst()
    {
        var config = ButaneConfig.Load();
        using var json = System.Text.Json.JsonDocument.Parse(config.FileContents("/etc/docker/daemon.json"));

        Assert.Equal(BridgeAddress + "/16", json.RootElement.GetProperty("bip").GetString());
        Assert.Equal([BridgeAddress, "8.8.8.8"], json.RootElement.GetProperty("dns").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void ResolvConf_Nameservers_BridgeFirstAndOverwritesFlatcarLink()
    {
        var config = ButaneConfig.Load();

        Assert.Equal(CloudConfigTests.Nameservers(CloudConfig.Load().WrittenFile("/etc/resolv.conf")), CloudConfigTests.Nameservers(config.FileContents("/etc/resolv.conf")));
        Assert.Equal("true", CloudConfig.Scalar(config.File("/etc/resolv.conf"), "overwrite"));
    }

    [Fact]
    public void ClusterEnvironment_Values_MatchCloudConfigEnvironment()
    {
        // The two configs give the units the same settings; only where the node's addresses come from differs.
        var butane = CloudConfigTests.EnvironmentLines(ButaneConfig.Load().FileContents("/etc/router/cluster.env"));
        var cloud = CloudConfigTests.EnvironmentLines(CloudConfig.Load().WrittenFile("/etc/environment"));
        cloud.Remove("COREOS_PUBLIC_IPV4");
        cloud.Remove("COREOS_PRIVATE_IPV4");

        Assert.Equal(cloud.OrderBy(p => p.Key, StringComparer.Ordinal), butane.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void NodeEnvironment_Writes_ClusterSettingsAndPrivateAddressBeforeTheUnitsRead()
    {
        var unit = UnitFile.Parse(ButaneConfig.Load().UnitContents("node-environment.service"));
        var command = unit.Value("Service", "ExecStart")!;

        Assert.Contains("cat /etc/router/cluster.env", command, StringComparison.Ordinal);
        Assert.Contains("COREOS_PRIVATE_IPV4=$${COREOS_GCE_IP_LOCAL_0}", command, StringComparison.Ordinal);
        Assert.Contains("/run/metadata/flatcar", unit.Values("Service", "EnvironmentFile"));
        Assert.Contains("coreos-metadata.service", unit.Units("After"));
        Assert.Contains("router.service", unit.Units("Before"));
        Assert.Contains("etcd-member.service", unit.Units("Before"));
    }

    [Fact]
    public void NodeEnvironment_Command_WritesTheFileTheUnitsRead()
    {
        // The unit's own command, run by a shell with its /etc paths moved into a temporary folder and the
        // variables coreos-metadata would give: what comes out is the file router.service reads.
        var unit = UnitFile.Parse(ButaneConfig.Load().UnitContents("node-environment.service"));
        var command = unit.Value("Service", "ExecStart")!;
        var script = command[(command.IndexOf('\'', StringComparison.Ordinal) + 1)..command.LastIndexOf('\'')].Replace("$$", "$", StringComparison.Ordinal);
        var dir = Directory.CreateTempSubdirectory("deploy-node-env-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "etc", "router"));
            File.WriteAllText(Path.Combine(dir.FullName, "etc", "router", "cluster.env"), ButaneConfig.Load().FileContents("/etc/router/cluster.env"));
            var run = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", script.Replace("/etc/", dir.FullName + "/etc/", StringComparison.Ordinal)])
            {
                Environment = { ["COREOS_GCE_IP_LOCAL_0"] = "10.128.0.11", ["COREOS_GCE_IP_EXTERNAL_0"] = "203.0.113.7" },
            })!;
            Assert.True(run.WaitForExit(TimeSpan.FromSeconds(30)), "the command did not finish");
            Assert.Equal(0, run.ExitCode);

            var written = CloudConfigTests.EnvironmentLines(File.ReadAllText(Path.Combine(dir.FullName, "etc", "environment")));
            Assert.Equal("10.128.0.11", written["COREOS_PRIVATE_IPV4"]);
            Assert.Equal("203.0.113.7", written["COREOS_PUBLIC_IPV4"]);
            Assert.Equal("https://127.0.0.1:2379", written["ETCD_ENDPOINTS"]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public static TheoryData<string> EmbeddedUnits()
    {
        var data = new TheoryData<string>();
        foreach (var unit in ButaneConfig.Load().Units())
        {
            data.Add(CloudConfig.Scalar(unit, "name")!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EmbeddedUnits))]
    public async Task EmbeddedUnit_Verify_PassesSystemdAnalyze(string name)
    {
        // All of the config's units are laid out together, as Ignition writes them to /etc/systemd/system.
        var config = ButaneConfig.Load();
        var files = config.Units()
            .Where(u => CloudConfig.Scalar(u, "contents") is not null)
            .ToDictionary(u => CloudConfig.Scalar(u, "name")!, u => CloudConfig.Scalar(u, "contents")!, StringComparer.Ordinal);

        var result = await UnitVerifier.VerifyAsync(name, files);

        Assert.True(result.Passed, $"systemd-analyze verify {name}: {result}");
    }

    [Fact]
    public void Parse_NotAMapping_Fails()
    {
        Assert.ThrowsAny<Exception>(() => ButaneConfig.Parse("- variant: flatcar\n"));
        Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => ButaneConfig.Parse("variant: flatcar\nstorage:\n\tfiles: []\n"));
    }
}
