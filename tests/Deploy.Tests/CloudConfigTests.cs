namespace Router.Deploy.Tests;

public sealed class CloudConfigTests
{
    private const string BridgeAddress = "172.17.42.1";

    [Fact]
    public void File_FirstLine_IsCloudConfigMarker()
    {
        // coreos-cloudinit treats user-data as cloud-config only with this exact first line.
        var first = File.ReadLines(CloudConfig.Path).First();

        Assert.Equal("#cloud-config", first);
    }

    [Fact]
    public void File_Parse_HasWriteFilesAndCoreosUnits()
    {
        var config = CloudConfig.Load();

        Assert.NotEmpty(config.Units());
        Assert.NotEmpty(config.WrittenPaths());
    }

    [Fact]
    public void DockerDropIn_Options_SetBridgeAddressAndDns()
    {
        var config = CloudConfig.Load();
        var docker = config.Unit("docker.service");
        var options = CloudConfig.DropIns(docker)
            .SelectMany(d => UnitFile.Parse(d.Content).Values("Service", "Environment"))
            .Select(e => e.Trim('"'))
            .Where(e => e.StartsWith("DOCKER_OPTS=", StringComparison.Ordinal))
            .Select(e => UnitFile.Words(e["DOCKER_OPTS=".Length..]))
            .SingleOrDefault();

        Assert.NotNull(options);
        Assert.Contains("--bip=172.17.42.1/16", options);
        Assert.Equal([BridgeAddress, "8.8.8.8"], OptionValues(options, "--dns"));
        Assert.Contains(CloudConfig.Scalar(docker, "command"), new[] { "start", "restart" });
    }

    [Fact]
    public void ResolvConf_Nameservers_BridgeFirstWithFallback()
    {
        var config = CloudConfig.Load();
        var nameservers = Nameservers(config.WrittenFile("/etc/resolv.conf"));

        Assert.Equal(BridgeAddress, nameservers.FirstOrDefault());
        Assert.True(nameservers.Count >= 2, "resolv.conf needs a fallback while the router is not up");
    }

    [Fact]
    public void Units_Order_DockerRestartedBeforeEtcdMemberStarts()
    {
        // coreos-cloudinit acts on the units in file order; where etcd-member runs in docker, restarting
        // docker after etcd-member started would restart etcd too (issue 19, finding 4).
        var names = CloudConfig.Load().Units().Select(u => CloudConfig.Scalar(u, "name")).ToList();

        Assert.True(names.IndexOf("docker.service") < names.IndexOf("etcd-member.service"), string.Join(", ", names));
        Assert.Equal("node-secrets.service", names[0]);
    }

    [Fact]
    public void NodeSecrets_Embedded_AreIdenticalToShippedFiles()
    {
        var config = CloudConfig.Load();

        Assert.Equal(UnitsFolder.Read("node-secrets.service").TrimEnd('\n'), CloudConfig.Scalar(config.Unit("node-secrets.service"), "content")!.TrimEnd('\n'));
        Assert.Equal(File.ReadAllText(NodeSecretsScript.Path).TrimEnd('\n'), config.WrittenFile("/opt/bin/node-secrets").TrimEnd('\n'));
    }

    [Theory]
    [InlineData("fleet.service")]
    [InlineData("etcd-member.service")]
    [InlineData("node-secrets.service")]
    public void NodeService_Command_IsStart(string name)
    {
        var config = CloudConfig.Load();

        Assert.Equal("start", CloudConfig.Scalar(config.Unit(name), "command"));
    }

    [Fact]
    public void EtcdMember_Environment_ServesV2ForFleet()
    {
        // fleet only speaks etcd's v2 API; the registry speaks v3. One member must serve both.
        var config = CloudConfig.Load();
        var environment = CloudConfig.DropIns(config.Unit("etcd-member.service"))
            .SelectMany(d => UnitFile.Parse(d.Content).Values("Service", "Environment"))
            .ToList();

        Assert.Contains("ETCD_ENABLE_V2=true", environment);
        Assert.Contains(environment, e => e.StartsWith("ETCD_IMAGE_TAG=v3.", StringComparison.Ordinal));
    }

    [Fact]
    public void Environment_EtcdEndpoints_MatchFleetEtcdServers()
    {
        var config = CloudConfig.Load();
        var environment = EnvironmentFile(config);
        var fleet = CloudConfig.Map(CloudConfig.Map(config.Root, "coreos"), "fleet");

        Assert.True(environment.TryGetValue("ETCD_ENDPOINTS", out var endpoints), "/etc/environment has no ETCD_ENDPOINTS");
        Assert.Equal(endpoints, CloudConfig.Scalar(fleet, "etcd_servers"));
        Assert.True(environment.ContainsKey("ROUTER_IMAGE"), "/etc/environment has no ROUTER_IMAGE");
    }

    [Fact]
    public void RouterUnit_Embedded_IsIdenticalToUnitsFile()
    {
        var config = CloudConfig.Load();

        Assert.Equal(UnitsFolder.Read("router.service").TrimEnd('\n'), config.WrittenFile("/etc/router/router.service").TrimEnd('\n'));
    }

    [Fact]
    public void RouterUnit_Embedded_ServesPortsAndDnsOnHostNetwork()
    {
        var config = CloudConfig.Load();
        var unit = UnitFile.Parse(config.WrittenFile("/etc/router/router.service"));
        var run = UnitFile.Words(unit.Value("Service", "ExecStart")!);

        Assert.Contains("--net=host", run);
        Assert.Equal(["0.0.0.0:80"], OptionValues(run, "--http"));
        // 443 is switched on through the environment (see the unit), so the switch must pass through.
        Assert.Contains("ROUTER_HTTPS", OptionValues(run, "-e"));
        Assert.Contains("ROUTER_CERTS", OptionValues(run, "-e"));
        Assert.Equal([BridgeAddress + ":53"], OptionValues(run, "--dns"));
        Assert.Equal(["8.8.8.8,8.8.4.4"], OptionValues(run, "--dns-upstream"));
        Assert.Equal(["${ETCD_ENDPOINTS}"], OptionValues(run, "--etcd"));
        Assert.Contains("/etc/environment", unit.Values("Service", "EnvironmentFile"));
    }

    [Fact]
    public void RouterUnit_Submission_StartsEmbeddedFileThroughFleet()
    {
        var config = CloudConfig.Load();
        var submitters = config.Units()
            .Where(u => CloudConfig.Scalar(u, "command") == "start" && CloudConfig.Scalar(u, "content") is not null)
            .Select(u => UnitFile.Parse(CloudConfig.Scalar(u, "content")!))
            .Where(u => u.Commands().Any(c => c.Command.Contains("fleetctl start", StringComparison.Ordinal)
                && c.Command.Contains("/etc/router/router.service", StringComparison.Ordinal)))
            .ToList();

        var submitter = Assert.Single(submitters);
        Assert.Contains("fleet.service", submitter.Units("After"));
    }

    public static TheoryData<string> EmbeddedUnits()
    {
        var data = new TheoryData<string>();
        foreach (var key in EmbeddedUnitFiles(CloudConfig.Load()).Keys.Order(StringComparer.Ordinal))
        {
            data.Add(key);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EmbeddedUnits))]
    public async Task EmbeddedUnit_Verify_PassesSystemdAnalyze(string key)
    {
        var (unit, files) = EmbeddedUnitFiles(CloudConfig.Load())[key];

        var result = await UnitVerifier.VerifyAsync(unit, files);

        Assert.True(result.Passed, $"systemd-analyze verify {key}: {result}");
    }

    /// <summary>
    /// Every piece of systemd configuration the YAML carries, keyed for the test name, with the
    /// files to verify it in: a unit's content; a drop-in over a stand-in of the node's own unit
    /// (so its keys are checked, and the node unit itself is not ours to verify); a unit file
    /// written by write_files. The config's own units are laid out beside each, as on the node.
    /// </summary>
    private static Dictionary<string, (string Unit, Dictionary<string, string> Files)> EmbeddedUnitFiles(CloudConfig config)
    {
        var result = new Dictionary<string, (string, Dictionary<string, string>)>(StringComparer.Ordinal);
        foreach (var unit in config.Units())
        {
            var name = CloudConfig.Scalar(unit, "name")!;
            var content = CloudConfig.Scalar(unit, "content");
            var files = OwnUnits(config);
            files[name] = content ?? $"[Unit]\nDescription=stand-in for the node's {name}\n\n[Service]\nExecStart=/bin/true\n";
            foreach (var (dropIn, dropInContent) in CloudConfig.DropIns(unit))
            {
                files[$"{name}.d/{dropIn}"] = dropInContent;
            }

            if (content is not null || CloudConfig.DropIns(unit).Count > 0)
            {
                result[$"coreos.units {name}"] = (name, files);
            }
        }

        foreach (var path in config.WrittenPaths().Where(p => p.EndsWith(".service", StringComparison.Ordinal)))
        {
            var name = Path.GetFileName(path);
            var files = OwnUnits(config);
            files[name] = config.WrittenFile(path);
            result[$"write_files {path}"] = (name, files);
        }

        return result;
    }

    /// <summary>The units whose whole content the config carries.</summary>
    private static Dictionary<string, string> OwnUnits(CloudConfig config) =>
        config.Units()
            .Where(u => CloudConfig.Scalar(u, "content") is not null)
            .ToDictionary(u => CloudConfig.Scalar(u, "name")!, u => CloudConfig.Scalar(u, "content")!, StringComparer.Ordinal);

    private static Dictionary<string, string> EnvironmentFile(CloudConfig config) => EnvironmentLines(config.WrittenFile("/etc/environment"));

    /// <summary>The nameserver addresses of a resolv.conf, in order.</summary>
    internal static List<string> Nameservers(string resolvConf) =>
        resolvConf.Split('\n')
            .Select(l => UnitFile.Words(l))
            .Where(w => w.Length == 2 && w[0] == "nameserver")
            .Select(w => w[1])
            .ToList();

    /// <summary>NAME=value lines of an environment file (comments and blank lines skipped).</summary>
    internal static Dictionary<string, string> EnvironmentLines(string text) =>
        text
            .Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);

    /// <summary>Every value of an option, written as "--opt value" or "--opt=value".</summary>
    private static List<string> OptionValues(string[] words, string option)
    {
        var values = new List<string>();
        for (var i = 0; i < words.Length; i++)
        {
            if (words[i] == option && i + 1 < words.Length)
            {
                values.Add(words[++i]);
            }
            else if (words[i].StartsWith(option + "=", StringComparison.Ordinal))
            {
                values.Add(words[i][(option.Length + 1)..]);
            }
        }

        return values;
    }

    [Fact]
    public void Parse_NotAMapping_Fails()
    {
        // The helper must reject what coreos-cloudinit would reject, or the tests above prove little.
        Assert.ThrowsAny<Exception>(() => CloudConfig.Parse("#cloud-config\n- just\n- a list\n"));
        Assert.ThrowsAny<YamlDotNet.Core.YamlException>(() => CloudConfig.Parse("#cloud-config\ncoreos:\n\tunits: []\n"));
    }
}
