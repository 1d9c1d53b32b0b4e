using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// A private Docker daemon (Debian's docker.io) for the image tests: its own data root, exec root
/// and unix socket under a temporary folder, vfs storage (no overlay mounts needed), and no
/// bridge, iptables or ip6tables rules, so it changes nothing in the machine's network; the
/// containers run with <c>--network host</c>. Stopped by its process id on dispose.
/// </summary>
internal sealed class DockerDaemon : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly DirectoryInfo _root;
    private readonly TestProcess _dockerd;

    private DockerDaemon(DirectoryInfo root, TestProcess dockerd)
    {
        _root = root;
        _dockerd = dockerd;
    }

    /// <summary>The daemon's endpoint, for DOCKER_HOST or Testcontainers.</summary>
    public string Host => $"unix://{Path.Combine(_root.FullName, "docker.sock")}";

    /// <summary>What the client needs: this daemon, and a config folder of its own (not ~/.docker).</summary>
    public IReadOnlyDictionary<string, string?> ClientEnvironment => new Dictionary<string, string?>
    {
        ["DOCKER_HOST"] = Host,
        ["DOCKER_CONFIG"] = Path.Combine(_root.FullName, "config"),
        ["DOCKER_BUILDKIT"] = "0",
    };

    /// <summary>Debian's dockerd, or null.</summary>
    public static string? Dockerd => new[] { "/usr/sbin/dockerd", "/usr/bin/dockerd" }.FirstOrDefault(File.Exists);

    /// <summary>
    /// Debian's docker client. Not whatever "docker" comes first on PATH: a machine may have a
    /// different client in /usr/local/bin, and the daemon's API version is docker.io's.
    /// </summary>
    public static string Client => new[] { "/usr/bin/docker" }.FirstOrDefault(File.Exists) ?? "docker";

    /// <summary>
    /// Why the image tests cannot run here, or null when they can: the daemon needs root, Debian's
    /// docker.io and, for the base image, mmdebstrap.
    /// </summary>
    public static string? Unavailable =>
        Dockerd is null ? "no dockerd: apt-get install -y docker.io mmdebstrap"
        : !File.Exists("/usr/bin/mmdebstrap") ? "no mmdebstrap: apt-get install -y mmdebstrap"
        : Environment.UserName != "root" ? "the private docker daemon needs root"
        : null;

    public static async Task<DockerDaemon> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("router-dockerd-");
        Directory.CreateDirectory(Path.Combine(root.FullName, "config"));
        var dockerd = TestProcess.Start(Dockerd ?? throw new InvalidOperationException(Unavailable),
        [
            "--data-root", Path.Combine(root.FullName, "data"),
            "--exec-root", Path.Combine(root.FullName, "exec"),
            "--pidfile", Path.Combine(root.FullName, "dockerd.pid"),
            "--host", $"unix://{Path.Combine(root.FullName, "docker.sock")}",
            "--storage-driver", "vfs",
            "--iptables=false", "--ip6tables=false", "--bridge=none",
            "--log-level", "warn",
        ], name: "dockerd");
        var daemon = new DockerDaemon(root, dockerd);
        try
        {
            await Wait.UntilAsync(async () =>
            {
                if (dockerd.HasExited)
                {
                    throw new InvalidOperationException($"dockerd exited with {dockerd.ExitCode}:\n{dockerd.Output}");
                }

                return (await daemon.RunAsync(["version"], TimeSpan.FromSeconds(20), check: false)).ExitCode == 0;
            }, "the private dockerd to answer", StartTimeout);
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }

        return daemon;
    }

    /// <summary>Runs the docker client against this daemon; fails with its output unless it exits 0 (when checked).</summary>
    public async Task<DockerResult> RunAsync(IEnumerable<string> arguments, TimeSpan timeout, bool check = true)
    {
        var args = arguments.ToList();
        await using var process = TestProcess.Start(Client, args, ClientEnvironment, name: "docker " + args[0]);
        int exitCode;
        try
        {
            exitCode = await process.WaitForExitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Signal(TestProcess.SigKill);
            throw;
        }

        var result = new DockerResult(exitCode, process.Output.Trim());
        if (check && exitCode != 0)
        {
            throw new InvalidOperationException($"docker {string.Join(' ', args)} exited with {exitCode}:\n{result.Output}");
        }

        return result;
    }

    /// <summary>The newest API version this daemon speaks (docker.io 20.10: 1.41).</summary>
    public async Task<Version> ApiVersionAsync() =>
        Version.Parse((await RunAsync(["version", "-f", "{{.Server.APIVersion}}"], TimeSpan.FromSeconds(30))).Output);

    public async ValueTask DisposeAsync()
    {
        if (!_dockerd.HasExited)
        {
            // dockerd stops its containers and its containerd on SIGTERM.
            await _dockerd.StopAsync(TimeSpan.FromSeconds(60));
        }

        await _dockerd.DisposeAsync();

        // dockerd leaves the bind mount of its network namespace (exec root/netns/default) behind,
        // even on a clean stop; unmount what is still mounted under this daemon's folder, deepest first.
        var mounts = (await File.ReadAllLinesAsync("/proc/mounts"))
            .Select(l => l.Split(' ')[1])
            .Where(m => m.StartsWith(_root.FullName + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length);
        foreach (var mount in mounts)
        {
            await using var umount = TestProcess.Start("/bin/umount", [mount], name: "umount");
            await umount.WaitForExitAsync();
        }

        try
        {
            _root.Delete(recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Something still mounted; the folder is under the temp dir and names itself.
        }
    }
}

internal sealed record DockerResult(int ExitCode, string Output);
