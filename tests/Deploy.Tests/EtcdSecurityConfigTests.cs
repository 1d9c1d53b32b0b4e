namespace Router.Deploy.Tests;

/// <summary>
/// etcd in the shipped configs is not open to whoever reaches a node: clients only on loopback and the
/// private address, clients and peers over TLS with certificates of the cluster's CA, and every client
/// of etcd (router, sidekicks, fleet) presenting the same client certificate.
/// </summary>
public sealed class EtcdSecurityConfigTests
{
    private const string TlsDir = EtcdSettings.HostTlsDir + "/";

    public static TheoryData<string> Configs() => new() { "cloud-config", "butane" };

    internal static EtcdSettings Settings(string config) =>
        config == "butane" ? EtcdSettings.FromButane(ButaneConfig.Load()) : EtcdSettings.FromCloudConfig(CloudConfig.Load());

    [Theory]
    [MemberData(nameof(Configs))]
    public void ClientUrls_Listen_OnlyOnLoopbackAndPrivateAddressOverTls(string config)
    {
        var etcd = Settings(config);
        var listen = etcd.Urls("listen-client-urls");

        Assert.Equal(["127.0.0.1", EtcdSettings.PrivateIp.ToLowerInvariant()], listen.Select(u => u.Host).Order(StringComparer.Ordinal));
        Assert.All(listen, u => Assert.Equal("https", u.Scheme));
        Assert.DoesNotContain("0.0.0.0", etcd["listen-client-urls"], StringComparison.Ordinal);
        Assert.DoesNotContain("[::]", etcd["listen-client-urls"], StringComparison.Ordinal);
        Assert.All(etcd.Urls("advertise-client-urls"), u => Assert.Equal("https", u.Scheme));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void PeerUrls_Listen_OnlyOnPrivateAddressOverTls(string config)
    {
        var etcd = Settings(config);

        Assert.All(etcd.Urls("listen-peer-urls"), u => Assert.Equal(("https", EtcdSettings.PrivateIp.ToLowerInvariant()), (u.Scheme, u.Host)));
        Assert.All(etcd.Urls("initial-advertise-peer-urls"), u => Assert.Equal("https", u.Scheme));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Certificates_ClientsAndPeers_MustPresentOneOfTheClusterCa(string config)
    {
        var etcd = Settings(config);

        Assert.Equal("true", etcd["client-cert-auth"]);
        Assert.Equal("true", etcd["peer-client-cert-auth"]);
        Assert.Equal(TlsDir + "ca.pem", etcd["trusted-ca-file"]);
        Assert.Equal(TlsDir + "ca.pem", etcd["peer-trusted-ca-file"]);
        Assert.Equal(TlsDir + "member.pem", etcd["cert-file"]);
        Assert.Equal(TlsDir + "member-key.pem", etcd["key-file"]);
        Assert.Equal(TlsDir + "member.pem", etcd["peer-cert-file"]);
        Assert.Equal(TlsDir + "member-key.pem", etcd["peer-key-file"]);
    }

    [Fact]
    public void BothConfigs_SecuritySettings_AreTheSame()
    {
        var cloud = Settings("cloud-config");
        var butane = Settings("butane");
        string[] flags = [.. EtcdSettings.FileFlags, "client-cert-auth", "peer-client-cert-auth", "listen-client-urls", "listen-peer-urls", "advertise-client-urls", "initial-advertise-peer-urls", "discovery"];

        Assert.All(flags, f => Assert.Equal((f, cloud[f]), (f, butane[f])));
    }

    [Fact]
    public void Clients_EveryUnitAndFleet_PresentTheSameClientCertificate()
    {
        var expected = (TlsDir + "ca.pem", TlsDir + "client.pem", TlsDir + "client-key.pem");

        Assert.Equal(expected, EtcdClients.Router());
        Assert.Equal(expected, EtcdClients.Announcer());
        Assert.Equal(expected, EtcdClients.Fleet());
    }

    [Theory]
    [InlineData("router.service")]
    [InlineData("web-presence@.service")]
    public void Clients_Containers_MountTheCertificatesReadOnlyAtTheSamePath(string unit)
    {
        var run = UnitFile.Words(UnitFile.Parse(UnitsFolder.Read(unit)).Value("Service", "ExecStart")!);

        Assert.Contains($"{EtcdSettings.HostTlsDir}:{EtcdSettings.HostTlsDir}:ro", OptionValues(run, "-v"));
    }

    [Fact]
    public void Endpoints_EveryConfigAndUnit_UseTls()
    {
        var cloud = CloudConfigTests.EnvironmentLines(CloudConfig.Load().WrittenFile("/etc/environment"));
        var butane = CloudConfigTests.EnvironmentLines(ButaneConfig.Load().FileContents("/etc/router/cluster.env"));
        var fleet = CloudConfig.Scalar(CloudConfig.Map(CloudConfig.Map(CloudConfig.Load().Root, "coreos"), "fleet"), "etcd_servers");
        var unitDefaults = new[] { "router.service", "web-presence@.service" }
            .Select(u => UnitFile.Parse(UnitsFolder.Read(u)).Values("Service", "Environment").Single(e => e.StartsWith("ETCD_ENDPOINTS=", StringComparison.Ordinal)));

        Assert.Equal("https://127.0.0.1:2379", cloud["ETCD_ENDPOINTS"]);
        Assert.Equal("https://127.0.0.1:2379", butane["ETCD_ENDPOINTS"]);
        Assert.Equal("https://127.0.0.1:2379", fleet);
        Assert.All(unitDefaults, e => Assert.Equal("ETCD_ENDPOINTS=https://127.0.0.1:2379", e));
    }

    [Fact]
    public void Images_EveryConfig_PinsAVersion()
    {
        // The unit pulls ROUTER_IMAGE at every start: a moving tag would change versions without anyone deciding it.
        var cloud = CloudConfigTests.EnvironmentLines(CloudConfig.Load().WrittenFile("/etc/environment"));
        var butane = CloudConfigTests.EnvironmentLines(ButaneConfig.Load().FileContents("/etc/router/cluster.env"));

        foreach (var environment in new[] { cloud, butane })
        {
            foreach (var name in new[] { "ROUTER_IMAGE", "ANNOUNCER_IMAGE" })
            {
                var image = environment[name];
                var tag = image.Contains('@', StringComparison.Ordinal) ? image[(image.IndexOf('@', StringComparison.Ordinal) + 1)..] : image[(image.LastIndexOf(':') + 1)..];
                Assert.Matches(@"^(\d+\.\d+\.\d+|sha256:[0-9a-f]{64})$", tag);
            }
        }
    }

    private static List<string> OptionValues(string[] words, string option)
    {
        var values = new List<string>();
        for (var i = 0; i + 1 < words.Length; i++)
        {
            if (words[i] == option)
            {
                values.Add(words[i + 1]);
            }
        }

        return values;
    }
}
