using System.Text.Json;
using Router.Rollout;
using Router.Rollout.Processes;
using Router.Testing;

namespace Router.Tests.Rollout;

/// <summary>
/// A service run by the process scheduler for a rollout test: a folder with a unit.json whose service is the real
/// echo backend (named NAME-VERSION-N, so an answer says which version served it; any version starting with
/// "broken" never listens) and whose sidekick is the real announcer. Disposing stops every instance by pid.
/// </summary>
internal sealed class RolloutBed : IAsyncDisposable
{
    private RolloutBed(string folder, string etcdUrl, string prefix, int routerAdminPort)
    {
        Folder = folder;
        EtcdUrl = etcdUrl;
        Prefix = prefix;
        RouterAdminPort = routerAdminPort;
        RolloutPrefix = $"/r{Guid.NewGuid():N}";
        Scheduler = new ProcessScheduler(folder);
    }

    public string Folder { get; }

    public string EtcdUrl { get; }

    public string Prefix { get; }

    public string RolloutPrefix { get; }

    public int RouterAdminPort { get; }

    internal ProcessScheduler Scheduler { get; }

    public const string Service = "web";

    public static RolloutBed Create(string etcdUrl, string prefix, int routerAdminPort, int slots = 0)
    {
        var folder = Directory.CreateTempSubdirectory("rollout-").FullName;
        var echo = RepoPaths.TestExecutable("EchoServer", "echo-server");
        var announcer = RepoPaths.Executable("Announcer", "announcer");
        var unit = new
        {
            slots,
            service = new[] { "/bin/sh", "-c", $"case {{version}} in broken*) exec sleep 600;; esac; exec dotnet exec '{echo}' {{name}}-{{version}}-{{instance}} {{port}}" },
            presence = new[]
            {
                "dotnet", "exec", announcer, "--etcd", etcdUrl, "--prefix", prefix, "--service", "{name}", "--instance", "{instance}",
                "--address", "127.0.0.1:{port}", "--check", "tcp", "--interval", "0.2", "--ttl", "2", "--drain", "0.5",
            },
        };
        File.WriteAllText(Path.Combine(folder, "unit.json"), JsonSerializer.Serialize(unit));
        return new RolloutBed(folder, etcdUrl, prefix, routerAdminPort);
    }

    /// <summary>Starts instances 1..<paramref name="count"/> at <paramref name="version"/> the way a rollout would.</summary>
    public async Task StartInstancesAsync(int count, string version)
    {
        for (var n = 1; n <= count; n++)
        {
            await Scheduler.StartAsync(Service, n, version, CancellationToken.None);
        }
    }

    public async Task<IReadOnlyList<SchedulerInstance>> InstancesAsync() => await Scheduler.ListAsync(Service, CancellationToken.None);

    /// <summary>The tool's command line with this bed's folder, etcd, prefixes and router, short times, then <paramref name="extra"/>.</summary>
    public IReadOnlyList<string> Args(params string[] extra) =>
    [
        "rollout", Service, "--processes", Folder, "--etcd", EtcdUrl, "--prefix", Prefix, "--rollout-prefix", RolloutPrefix,
        "--router-admin", $"127.0.0.1:{RouterAdminPort}", "--min-healthy", "1", "--deadline", "30", "--drain", "0.5", "--lock-ttl", "5",
        .. extra,
    ];

    public TestProcess StartTool(params string[] extra) => TestProcess.Start(RouterProcess.Executable, Args(extra), name: "rollout");

    /// <summary>Runs the tool to its end; its exit code and output.</summary>
    public async Task<(int Code, string Output)> RunToolAsync(params string[] extra)
    {
        await using var tool = StartTool(extra);
        var code = await tool.WaitForExitAsync(TimeSpan.FromSeconds(180));
        return (code, tool.Output);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in await InstancesAsync())
        {
            await Scheduler.RemoveAsync(Service, instance.Number, CancellationToken.None);
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
