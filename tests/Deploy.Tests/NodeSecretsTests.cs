namespace Router.Deploy.Tests;

/// <summary>deploy/node-secrets, run against a metadata stand-in with certificates made by deploy/etcd-certs.sh.</summary>
public sealed class NodeSecretsTests
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task Member_AllKeys_WritesFilesWithOwnersAndModes()
    {
        using var pki = await ClusterPki.CreateAsync("10.128.0.11");
        await using var node = await NodeSecretsScript.StartAsync();
        node.PutCertificates(pki.Directory, member: true);
        await File.WriteAllTextAsync(Path.Combine(node.Metadata, "docker-config"), "{\"auths\":{\"europe-docker.pkg.dev\":{\"auth\":\"X2pzb25fa2V5Ont9\"}}}\n");

        var (exitCode, output) = await node.RunAsync();

        Assert.True(exitCode == 0, output);
        Assert.Equal(await File.ReadAllTextAsync(pki.File("member-key.pem")), await File.ReadAllTextAsync(Path.Combine(node.Tls, "member-key.pem")));
        AssertFile(Path.Combine(node.Tls, "ca.pem"), Mode0644, 0, 0);
        AssertFile(Path.Combine(node.Tls, "client.pem"), Mode0644, 0, 0);
        // The router's and the announcer's containers run as 1654 and must read the client key; nobody else.
        AssertFile(Path.Combine(node.Tls, "client-key.pem"), Mode0640, 0, 1654);
        AssertFile(Path.Combine(node.Tls, "member.pem"), Mode0644, 0, 0);
        // etcd runs as 232 (etcd-member's user) and alone reads the member key.
        AssertFile(Path.Combine(node.Tls, "member-key.pem"), Mode0600, 232, 232);
        AssertFile(Path.Combine(node.Root, "root", ".docker", "config.json"), Mode0600, 0, 0);
    }

    [Fact]
    public async Task NoMember_ClientKeysOnly_WritesClientFiles()
    {
        // A node that is no etcd member gets no member certificate, and needs none.
        using var pki = await ClusterPki.CreateAsync("10.128.0.11");
        await using var node = await NodeSecretsScript.StartAsync();
        node.PutCertificates(pki.Directory, member: false);

        var (exitCode, output) = await node.RunAsync();

        Assert.True(exitCode == 0, output);
        Assert.Equal(["ca.pem", "client-key.pem", "client.pem"], Directory.GetFiles(node.Tls).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.False(File.Exists(Path.Combine(node.Root, "root", ".docker", "config.json")));
    }

    [Fact]
    public async Task NotPem_Key_FailsNamingItAndKeepsPreviousFiles()
    {
        using var pki = await ClusterPki.CreateAsync("10.128.0.11");
        await using var node = await NodeSecretsScript.StartAsync();
        node.PutCertificates(pki.Directory, member: true);
        Assert.Equal(0, (await node.RunAsync()).ExitCode);
        var before = await File.ReadAllTextAsync(Path.Combine(node.Tls, "client-key.pem"));

        await File.WriteAllTextAsync(Path.Combine(node.Metadata, "etcd-client-key"), "<html>not a key</html>\n");
        var (exitCode, output) = await node.RunAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains("metadata key 'etcd-client-key' holds no PEM PRIVATE KEY", output, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(Path.Combine(node.Tls, "client-key.pem")));
        Assert.Equal(5, Directory.GetFiles(node.Tls).Length);
        Assert.Single(Directory.GetDirectories(Path.GetDirectoryName(node.Tls)!));
    }

    [Fact]
    public async Task OlderKeyFormat_EcPrivateKey_IsAccepted()
    {
        // Keys made by other tools often carry the algorithm in the PEM label ("EC PRIVATE KEY").
        using var pki = await ClusterPki.CreateAsync("10.128.0.11");
        await using var node = await NodeSecretsScript.StartAsync();
        node.PutCertificates(pki.Directory, member: false);
        await using (var convert = Router.Testing.TestProcess.Start("openssl", ["ec", "-in", pki.File("client-key.pem"), "-out", Path.Combine(node.Metadata, "etcd-client-key")], name: "openssl"))
        {
            Assert.Equal(0, await convert.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var (exitCode, output) = await node.RunAsync();

        Assert.Contains("-----BEGIN EC PRIVATE KEY-----", await File.ReadAllTextAsync(Path.Combine(node.Tls, "client-key.pem")), StringComparison.Ordinal);
        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task MissingRequiredKey_FailsNamingItAndHowToAddIt()
    {
        using var pki = await ClusterPki.CreateAsync("10.128.0.11");
        await using var node = await NodeSecretsScript.StartAsync();
        node.PutCertificates(pki.Directory, member: false);
        File.Delete(Path.Combine(node.Metadata, "etcd-ca"));

        var (exitCode, output) = await node.RunAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains("metadata key 'etcd-ca' is missing (gcloud compute instances add-metadata", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(node.Tls));
    }

    [Fact]
    public async Task MemberCertificateWithoutKey_Fails()
    {
        using var pki = await ClusterPki.CreateAsync("10.128.0.11");
        await using var node = await NodeSecretsScript.StartAsync();
        node.PutCertificates(pki.Directory, member: true);
        File.Delete(Path.Combine(node.Metadata, "etcd-member-key"));

        var (exitCode, output) = await node.RunAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains("'etcd-member-cert' and 'etcd-member-key' go together", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DockerConfigWithoutAuths_Fails()
    {
        using var pki = await ClusterPki.CreateAsync("10.128.0.11");
        await using var node = await NodeSecretsScript.StartAsync();
        node.PutCertificates(pki.Directory, member: false);
        await File.WriteAllTextAsync(Path.Combine(node.Metadata, "docker-config"), "{}\n");

        var (exitCode, output) = await node.RunAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains("'docker-config' is no docker config.json", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EtcdCerts_BadAddressOrExistingCa_RefusedWithoutTouchingIt()
    {
        var (badExit, badOutput) = await ClusterPki.RunAsync([Path.Combine(Path.GetTempPath(), "deploy-never-made"), "node-1"]);
        Assert.Equal(2, badExit);
        Assert.Contains("'node-1' is not an IPv4 address", badOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "deploy-never-made")));

        using var pki = await ClusterPki.CreateAsync("10.128.0.11");
        var ca = await File.ReadAllTextAsync(pki.File("ca.pem"));
        var (againExit, againOutput) = await ClusterPki.RunAsync([pki.Directory, "10.128.0.12"]);

        Assert.Equal(1, againExit);
        Assert.Contains("already holds a CA", againOutput, StringComparison.Ordinal);
        Assert.Equal(ca, await File.ReadAllTextAsync(pki.File("ca.pem")));
    }

    private static void AssertFile(string path, UnixFileMode mode, int uid, int gid)
    {
        Assert.True(File.Exists(path), $"{path} is missing");
        Assert.Equal(mode, File.GetUnixFileMode(path));
        var (owner, group) = Owner(path);
        Assert.Equal((uid, gid), (owner, group));
    }

    private static (int Uid, int Gid) Owner(string path)
    {
        // stat(1) rather than a P/Invoke: coreutils is on every machine these tests run on.
        var info = new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u %g", path]) { RedirectStandardOutput = true };
        using var stat = System.Diagnostics.Process.Start(info)!;
        var words = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        stat.WaitForExit();
        return (int.Parse(words[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
