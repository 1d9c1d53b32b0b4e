using System.Globalization;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// The node a doc's shell blocks run on, all on loopback: a test etcd, a running router (HTTP, admin and DNS on
/// free ports, the DNS answer 172.17.42.1 as in production), a dnsmasq standing in for the upstream resolvers
/// (it answers <c>example.com</c>), a real HTTP backend for each instance address the doc names, and a scratch
/// directory (a block's working directory) whose <c>bin/</c> holds <c>router</c> and <c>announcer</c> (the built
/// binaries), whose <c>etc/router/etcd-password</c> is the password file the docs read, and where the
/// repository's <c>deploy/</c>, <c>units/</c>, <c>docker/</c> and <c>scripts/</c> are linked.
/// </summary>
internal sealed class DocSandbox : IAsyncDisposable
{
    /// <summary>Values for the placeholders the docs leave to the operator.</summary>
    private static readonly Dictionary<string, string> Placeholders = new(StringComparer.Ordinal)
    {
        ["ROOT_PASSWORD"] = "doc-root-secret",
        ["ANNOUNCER_PASSWORD"] = "doc-announcer-secret",
    };

    private readonly List<IAsyncDisposable> _parts = [];

    private DocSandbox(string scratch) => Scratch = scratch;

    public string Scratch { get; }

    public EtcdProcess Etcd { get; private set; } = null!;

    public RouterProcess Router { get; private set; } = null!;

    public DocRun Run { get; private set; } = null!;

    /// <summary>The environment of every block: PATH with the built binaries; etcdctl and a router started from a doc pointed at loopback.</summary>
    public Dictionary<string, string?> Environment { get; } = [];

    public static async Task<DocSandbox> StartAsync(IEnumerable<string> instanceAddresses)
    {
        var scratch = Directory.CreateTempSubdirectory("doc-run-").FullName;
        var sandbox = new DocSandbox(scratch);
        try
        {
            await sandbox.StartPartsAsync(instanceAddresses);
            return sandbox;
        }
        catch
        {
            await sandbox.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until the router has applied every change made to etcd so far, as a reader would before the next step.</summary>
    public async Task WaitAppliedAsync()
    {
        var revision = await Etcd.RevisionAsync();
        await Wait.UntilAsync(async () => (await Router.StatusAsync()).GetProperty("etcd").GetProperty("revision").GetInt64() >= revision, $"the router to apply etcd revision {revision}");
    }

    /// <summary>Runs a script with bash -e -o pipefail in the scratch directory, stdin empty; the exit code and everything it printed.</summary>
    public async Task<(int Code, string Output)> BashAsync(string script, TimeSpan timeout)
    {
        await using var bash = StartBash(script, "doc block", newGroup: false);
        var code = await bash.WaitForExitAsync(timeout);
        return (code, bash.Output);
    }

    /// <summary>Starts a script in a process group of its own (a long-running command: router, announcer).</summary>
    public TestProcess StartBash(string script, string name, bool newGroup)
    {
        var file = Path.Combine(Scratch, $"block-{Guid.NewGuid():N}.sh");
        File.WriteAllText(file, "cd \"$(dirname \"$0\")\"\nexec </dev/null\n" + script);
        string[] bash = ["bash", "-e", "-o", "pipefail", file];
        return newGroup
            ? TestProcess.Start("setsid", bash, Environment, name)
            : TestProcess.Start(bash[0], bash[1..], Environment, name);
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _parts.Count - 1; i >= 0; i--)
        {
            await _parts[i].DisposeAsync();
        }

        // The links first, by themselves: nothing may reach into the repository they point at.
        foreach (var link in Directory.EnumerateFileSystemEntries(Scratch).Where(e => new FileInfo(e).LinkTarget is not null))
        {
            File.Delete(link);
        }

        Directory.Delete(Scratch, recursive: true);
    }

    private async Task StartPartsAsync(IEnumerable<string> instanceAddresses)
    {
        Etcd = await EtcdProcess.StartAsync();
        _parts.Add(Etcd);

        var upstream = await DnsmasqProcess.StartAsync("--address=/example.com/192.0.2.80");
        _parts.Add(upstream);

        var backends = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var address in instanceAddresses)
        {
            var backend = await TestBackend.StartAsync(address);
            _parts.Add(backend);
            backends[address] = backend.Address;
        }

        var dnsPort = Ports.FreeTcpAndUdp();
        Router = await RouterProcess.StartAsync(Etcd.Url, "/services",
        [
            "--dns", $"127.0.0.1:{dnsPort.ToString(CultureInfo.InvariantCulture)}",
            "--dns-answer", "172.17.42.1",
            "--dns-upstream", $"127.0.0.1:{upstream.Port.ToString(CultureInfo.InvariantCulture)}",
        ]);
        _parts.Add(Router);

        Run = new DocRun(Etcd.Url, Router.HttpPort, Router.AdminPort, dnsPort, upstream.Port, Scratch, backends);

        var bin = Directory.CreateDirectory(Path.Combine(Scratch, "bin")).FullName;
        WriteLauncher(Path.Combine(bin, "router"), RouterProcess.Executable);
        WriteLauncher(Path.Combine(bin, "announcer"), RepoPaths.Executable("Announcer", "announcer"));
        var etc = Directory.CreateDirectory(Path.Combine(Scratch, "etc", "router")).FullName;
        await File.WriteAllTextAsync(Path.Combine(etc, "etcd-password"), "doc-router-secret\n");

        // The docs' relative paths (deploy/etcd-certs.sh, units/…) are the repository's, read-only; what a
        // block writes stays in the scratch directory.
        foreach (var shipped in new[] { "deploy", "units", "docker", "scripts" })
        {
            File.CreateSymbolicLink(Path.Combine(Scratch, shipped), Path.Combine(RepoPaths.Root, shipped));
        }

        var loopback = (int port) => $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        Environment["PATH"] = $"{bin}:{System.Environment.GetEnvironmentVariable("PATH")}";
        Environment["HOME"] = Scratch;
        Environment["ETCDCTL_API"] = "3";
        Environment["ETCDCTL_ENDPOINTS"] = Etcd.Url;

        // A router started from a doc (`router --trusted-proxies …`) is a second one beside the running one:
        // every address it would take from its production defaults is a free loopback one, given in the
        // environment (the command line still wins, as documented).
        Environment["ROUTER_ETCD"] = Etcd.Url;
        Environment["ROUTER_HTTP"] = loopback(Ports.FreeTcp());
        Environment["ROUTER_ADMIN"] = loopback(Ports.FreeTcp());
        Environment["ROUTER_DNS"] = loopback(Ports.FreeTcpAndUdp());
        Environment["ROUTER_DNS_UPSTREAM"] = loopback(upstream.Port);
        Environment["ROUTER_TCP_BIND"] = "127.0.0.1";
        foreach (var (name, value) in Placeholders)
        {
            Environment[name] = value;
        }
    }

    private static void WriteLauncher(string path, string dll)
    {
        File.WriteAllText(path, $"#!/bin/sh\nexec dotnet exec '{dll}' \"$@\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
