using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>A cluster's etcd certificates made by <c>deploy/etcd-certs.sh</c>, as the operator makes them, in a temporary folder.</summary>
internal sealed class ClusterPki : IDisposable
{
    private readonly string _parent;

    private ClusterPki(string parent)
    {
        _parent = parent;
    }

    public static string Script => Path.Combine(RepoPaths.Root, "deploy", "etcd-certs.sh");

    public string Directory => Path.Combine(_parent, "tls");

    public string File(string name) => Path.Combine(Directory, name);

    /// <summary>Runs the script for the given member addresses; fails the test if it does not succeed.</summary>
    public static async Task<ClusterPki> CreateAsync(params string[] memberIps)
    {
        var pki = new ClusterPki(System.IO.Directory.CreateTempSubdirectory("deploy-pki-").FullName);
        var (exitCode, output) = await RunAsync([pki.Directory, .. memberIps]);
        Assert.True(exitCode == 0, $"etcd-certs.sh exited with {exitCode}: {output}");
        return pki;
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> arguments)
    {
        await using var run = TestProcess.Start("/bin/sh", [Script, .. arguments], name: "etcd-certs");
        var exitCode = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, run.Output);
    }

    public void Dispose() => System.IO.Directory.Delete(_parent, recursive: true);
}
