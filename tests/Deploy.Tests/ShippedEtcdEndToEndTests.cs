using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Router.Testing;
using Xunit.Abstractions;

namespace Router.Deploy.Tests;

/// <summary>
/// etcd started with exactly the settings a shipped config gives its member, certificates made by
/// deploy/etcd-certs.sh, the router with the router unit's etcd settings and the announcer with the sidekick
/// unit's. Only what cannot be the same on this machine is replaced: the private address by 127.0.0.2, the
/// ports 2379/2380 by free ones, /etc/etcd/tls by the test's folder, discovery by a one-member cluster.
/// </summary>
public sealed class ShippedEtcdEndToEndTests(ITestOutputHelper output)
{
    private const string PrivateAddress = "127.0.0.2";

    public static TheoryData<string> Configs() => EtcdSecurityConfigTests.Configs();

    [Theory]
    [MemberData(nameof(Configs))]
    public async Task ShippedSettings_RouterAndAnnouncerWithUnitCredentials_Route(string config)
    {
        using var pki = await ClusterPki.CreateAsync(PrivateAddress);
        await using var etcd = await ShippedEtcd.StartAsync(EtcdSecurityConfigTests.Settings(config), pki, output);
        var prefix = "/deploy-" + Guid.NewGuid().ToString("N")[..8];
        await using var backend = await TestBackend.StartAsync("web-1");

        var announcerTls = Map(EtcdClients.Announcer(), pki);
        await using var announcer = TestProcess.Start(RepoPaths.Executable("Announcer", "announcer"),
        [
            "--etcd", etcd.ClientUrl, "--prefix", prefix, "--service", "web", "--instance", "1", "--address", backend.Address, "--drain", "0",
            "--etcd-ca", announcerTls.Ca, "--etcd-cert", announcerTls.Cert, "--etcd-key", announcerTls.Key,
        ], name: "announcer");
        var routerTls = Map(EtcdClients.Router(), pki);
        await using var router = await RouterProcess.StartAsync(etcd.ClientUrl, prefix, environment: new Dictionary<string, string?>
        {
            ["ROUTER_ETCD_CA"] = routerTls.Ca,
            ["ROUTER_ETCD_CERT"] = routerTls.Cert,
            ["ROUTER_ETCD_KEY"] = routerTls.Key,
        });

        await router.WaitRoutedAsync("web.example.com", "/", e => e.Name == "web-1");
        Assert.False(announcer.HasExited, announcer.Output);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public async Task ShippedSettings_ClientWithoutCertificate_IsRefused(string config)
    {
        using var pki = await ClusterPki.CreateAsync(PrivateAddress);
        await using var etcd = await ShippedEtcd.StartAsync(EtcdSecurityConfigTests.Settings(config), pki, output);

        var withCa = await etcd.EtcdctlAsync(["--cacert", pki.File("ca.pem"), "get", "/services", "--prefix"]);
        var plain = await etcd.EtcdctlAsync(["get", "/services", "--prefix"], endpoint: etcd.ClientUrl.Replace("https://", "http://", StringComparison.Ordinal));

        Assert.NotEqual(0, withCa.ExitCode);
        Assert.NotEqual(0, plain.ExitCode);
        output.WriteLine($"no client certificate: {withCa.Output.Trim()}\nplain http: {plain.Output.Trim()}");
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public async Task ShippedSettings_ClientPort_OnlyOnLoopbackAndPrivateAddress(string config)
    {
        using var pki = await ClusterPki.CreateAsync(PrivateAddress);
        await using var etcd = await ShippedEtcd.StartAsync(EtcdSecurityConfigTests.Settings(config), pki, output);

        // The private address serves clients (nodes that are no member reach etcd there) …
        var onPrivate = await etcd.EtcdctlAsync(["--cacert", pki.File("ca.pem"), "--cert", pki.File("client.pem"), "--key", pki.File("client-key.pem"), "endpoint", "health"],
            endpoint: $"https://{PrivateAddress}:{etcd.ClientPort}");
        Assert.True(onPrivate.ExitCode == 0, onPrivate.Output);

        // … and any other address of the machine does not: etcd bound no wildcard address.
        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await other.ConnectAsync(new IPEndPoint(IPAddress.Parse("127.0.0.3"), etcd.ClientPort)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    private static (string Ca, string Cert, string Key) Map((string Ca, string Cert, string Key) files, ClusterPki pki) =>
        (pki.File(Path.GetFileName(files.Ca)), pki.File(Path.GetFileName(files.Cert)), pki.File(Path.GetFileName(files.Key)));

    /// <summary>The etcd binary with a shipped config's settings, made runnable here as the class comment says.</summary>
    private sealed class ShippedEtcd : IAsyncDisposable
    {
        private readonly TestProcess _process;
        private readonly string _dataDir;

        private ShippedEtcd(TestProcess process, string dataDir, int clientPort)
        {
            _process = process;
            _dataDir = dataDir;
            ClientPort = clientPort;
        }

        public int ClientPort { get; }

        public string ClientUrl => $"https://127.0.0.1:{ClientPort}";

        public static async Task<ShippedEtcd> StartAsync(EtcdSettings settings, ClusterPki pki, ITestOutputHelper output)
        {
            var clientPort = Ports.FreeTcp();
            var peerPort = Ports.FreeTcp();
            var dataDir = Directory.CreateTempSubdirectory("deploy-etcd-").FullName;
            var name = "shipped-" + Guid.NewGuid().ToString("N")[..8];
            var args = new List<string>();
            foreach (var (flag, value) in settings.Flags)
            {
                // The node's name, its discovery token and its data folder are the node's; everything else is kept.
                if (flag is "name" or "discovery" or "data-dir")
                {
                    continue;
                }

                args.Add($"--{flag}={Local(value, clientPort, peerPort, pki)}");
            }

            Assert.Contains(settings.Flags.Keys, k => k == "discovery");
            args.AddRange(["--name", name, "--data-dir", dataDir, "--initial-cluster", $"{name}=https://{PrivateAddress}:{peerPort}", "--initial-cluster-token", name]);
            output.WriteLine($"{settings.Source}: etcd {string.Join(' ', args)}");
            var process = TestProcess.Start(EtcdProcess.Binary, args, name: "etcd");
            var etcd = new ShippedEtcd(process, dataDir, clientPort);
            await Wait.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"etcd exited with {process.ExitCode}:\n{process.Output}");
                }

                return (await etcd.EtcdctlAsync(["--cacert", pki.File("ca.pem"), "--cert", pki.File("client.pem"), "--key", pki.File("client-key.pem"), "endpoint", "health"])).ExitCode == 0;
            }, "etcd with the shipped settings to be healthy", TimeSpan.FromSeconds(60));
            return etcd;
        }

        public async Task<(int ExitCode, string Output)> EtcdctlAsync(IEnumerable<string> args, string? endpoint = null)
        {
            await using var run = TestProcess.Start("etcdctl", ["--endpoints", endpoint ?? ClientUrl, "--dial-timeout", "3s", "--command-timeout", "5s", .. args],
                new Dictionary<string, string?> { ["ETCDCTL_API"] = "3" }, name: "etcdctl");
            var exitCode = await run.WaitForExitAsync(TimeSpan.FromSeconds(30));
            return (exitCode, run.Output);
        }

        public async ValueTask DisposeAsync()
        {
            await _process.DisposeAsync();
            Directory.Delete(_dataDir, recursive: true);
        }

        private static string Local(string value, int clientPort, int peerPort, ClusterPki pki) =>
            value.Replace(EtcdSettings.PrivateIp, PrivateAddress, StringComparison.Ordinal)
                .Replace(":2379", ":" + clientPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace(":2380", ":" + peerPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace(EtcdSettings.HostTlsDir + "/", pki.Directory + "/", StringComparison.Ordinal);
    }
}
