using YamlDotNet.RepresentationModel;

namespace Router.Deploy.Tests;

/// <summary>
/// The configs for a node that is no etcd member (deploy/cloud-config-nonmember.yaml,
/// deploy/flatcar/nonmember.bu) are their member config with only the etcd parts changed: the members'
/// client URLs instead of the local member, and etcd-member.service masked.
/// </summary>
public sealed class NonMemberConfigTests
{
    [Fact]
    public void CloudConfig_NonMember_DiffersOnlyInEtcd()
    {
        var member = CloudConfig.Load();
        var other = CloudConfig.Load(CloudConfig.NonMemberPath);
        var endpoints = Endpoints(CloudConfigTests.EnvironmentLines(other.WrittenFile("/etc/environment")));

        Assert.Equal(member.WrittenPaths(), other.WrittenPaths());
        Assert.All(member.WrittenPaths().Where(p => p != "/etc/environment"), p => Assert.Equal(member.WrittenFile(p), other.WrittenFile(p)));
        AssertSameExceptEndpoints(CloudConfigTests.EnvironmentLines(member.WrittenFile("/etc/environment")), CloudConfigTests.EnvironmentLines(other.WrittenFile("/etc/environment")));

        var memberFleet = CloudConfig.Map(CloudConfig.Map(member.Root, "coreos"), "fleet");
        var otherFleet = CloudConfig.Map(CloudConfig.Map(other.Root, "coreos"), "fleet");
        Assert.Equal(string.Join(',', endpoints), CloudConfig.Scalar(otherFleet, "etcd_servers"));
        Assert.All(memberFleet.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Where(k => k != "etcd_servers"),
            k => Assert.Equal(CloudConfig.Scalar(memberFleet, k), CloudConfig.Scalar(otherFleet, k)));

        Assert.Equal(member.Units().Select(u => CloudConfig.Scalar(u, "name")), other.Units().Select(u => CloudConfig.Scalar(u, "name")));
        foreach (var unit in member.Units().Where(u => CloudConfig.Scalar(u, "name") != "etcd-member.service"))
        {
            var name = CloudConfig.Scalar(unit, "name")!;
            Assert.True(Same(unit, other.Unit(name)), $"{name} differs between the member and the non-member config");
        }

        AssertMasked(other.Unit("etcd-member.service"));
    }

    [Fact]
    public void Butane_NonMember_DiffersOnlyInEtcd()
    {
        var member = ButaneConfig.Load();
        var other = ButaneConfig.Load(ButaneConfig.NonMemberPath);

        Assert.Equal(member.Files().Count, other.Files().Count);
        foreach (var file in member.Files().Where(f => CloudConfig.Scalar(f, "path") != "/etc/router/cluster.env"))
        {
            var path = CloudConfig.Scalar(file, "path")!;
            Assert.True(Same(file, other.File(path)), $"{path} differs between the member and the non-member config");
        }

        AssertSameExceptEndpoints(
            CloudConfigTests.EnvironmentLines(member.FileContents("/etc/router/cluster.env")),
            CloudConfigTests.EnvironmentLines(other.FileContents("/etc/router/cluster.env")));
        Assert.Equal(member.Units().Select(u => CloudConfig.Scalar(u, "name")), other.Units().Select(u => CloudConfig.Scalar(u, "name")));
        foreach (var unit in member.Units().Where(u => CloudConfig.Scalar(u, "name") != "etcd-member.service"))
        {
            var name = CloudConfig.Scalar(unit, "name")!;
            Assert.True(Same(unit, other.Unit(name)), $"{name} differs between the member and the non-member config");
        }

        AssertMasked(other.Unit("etcd-member.service"));
        var errors = ButaneSpec.Validate(other.Root);
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Fact]
    public void Endpoints_BothNonMemberConfigs_TheMembersOverTls()
    {
        var cloud = Endpoints(CloudConfigTests.EnvironmentLines(CloudConfig.Load(CloudConfig.NonMemberPath).WrittenFile("/etc/environment")));
        var butane = Endpoints(CloudConfigTests.EnvironmentLines(ButaneConfig.Load(ButaneConfig.NonMemberPath).FileContents("/etc/router/cluster.env")));

        Assert.Equal(cloud, butane);
        Assert.Equal(3, cloud.Count);
        Assert.All(cloud, u => Assert.Matches(@"^https://\d+\.\d+\.\d+\.\d+:2379$", u));
    }

    [Fact]
    public void Endpoints_MemberAddresses_AreTheOnesTheDocsCertifies()
    {
        // The member certificate names the members' addresses (deploy/etcd-certs.sh); a non-member node that
        // dials another address would fail its TLS check.
        var doc = File.ReadAllText(Path.Combine(Router.Testing.RepoPaths.Root, "docs", "deploy.md"));
        var line = doc.Split('\n').First(l => l.TrimStart().StartsWith("deploy/etcd-certs.sh tls ", StringComparison.Ordinal));
        var certified = UnitFile.Words(line).Skip(2).TakeWhile(w => !w.StartsWith('#')).ToList();
        var endpoints = Endpoints(CloudConfigTests.EnvironmentLines(CloudConfig.Load(CloudConfig.NonMemberPath).WrittenFile("/etc/environment")));

        Assert.Equal(certified, endpoints.Select(u => new Uri(u).Host));
    }

    private static List<string> Endpoints(Dictionary<string, string> environment) => [.. environment["ETCD_ENDPOINTS"].Split(',')];

    private static void AssertSameExceptEndpoints(Dictionary<string, string> member, Dictionary<string, string> other)
    {
        Assert.Equal("https://127.0.0.1:2379", member["ETCD_ENDPOINTS"]);
        Assert.NotEqual(member["ETCD_ENDPOINTS"], other["ETCD_ENDPOINTS"]);
        member.Remove("ETCD_ENDPOINTS");
        other.Remove("ETCD_ENDPOINTS");
        Assert.Equal(member.OrderBy(p => p.Key, StringComparer.Ordinal), other.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    private static void AssertMasked(YamlMappingNode unit)
    {
        Assert.Equal("true", CloudConfig.Scalar(unit, "mask"));
        Assert.Equal(["name", "mask"], unit.Children.Keys.Select(k => ((YamlScalarNode)k).Value));
    }

    /// <summary>Two YAML nodes with the same structure and values.</summary>
    private static bool Same(YamlNode a, YamlNode b) => (a, b) switch
    {
        (YamlScalarNode x, YamlScalarNode y) => x.Value == y.Value,
        (YamlSequenceNode x, YamlSequenceNode y) => x.Children.Count == y.Children.Count && x.Children.Zip(y.Children).All(p => Same(p.First, p.Second)),
        (YamlMappingNode x, YamlMappingNode y) => x.Children.Count == y.Children.Count
            && x.Children.All(p => y.Children.TryGetValue(p.Key, out var value) && Same(p.Value, value)),
        _ => false,
    };
}
