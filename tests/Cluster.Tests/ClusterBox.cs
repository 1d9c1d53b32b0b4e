using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Router.Testing;

namespace Router.Cluster.Tests;

/// <summary>
/// The cluster in a box of <c>scripts/cluster</c>: three node namespaces on their production addresses
/// (router on :80, DNS on 172.17.42.1:53, admin 127.0.0.1:9090), a 3-member etcd, "web" with one instance
/// and announcer per node, a private "secret" on node 1, a container namespace per node and an HAProxy
/// load balancer health-checking every node. Started once for the assembly; removed on dispose, also after
/// a failed start. The routers run as <c>dotnet router.dll</c>; <see cref="ImageClusterBox"/> runs them from the image.
/// </summary>
public class ClusterBox : IAsyncLifetime
{
    /// <summary>Namespace names of its own, so the box never meets a developer's <c>scripts/cluster</c> run.</summary>
    public const string Prefix = "rbt";

    public const string LoadBalancer = "192.0.2.1";

    private readonly string _state = Path.Combine(Path.GetTempPath(), "router-cluster-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _routerFrom;
    private readonly TimeSpan _upTimeout;

    public ClusterBox()
        : this("binary", TimeSpan.FromMinutes(3))
    {
    }

    /// <param name="routerFrom">scripts/cluster's CLUSTER_ROUTER_FROM: binary or image.</param>
    /// <param name="upTimeout">How long <c>scripts/cluster up</c> may take (the image variant may build the image first).</param>
    protected ClusterBox(string routerFrom, TimeSpan upTimeout)
    {
        _routerFrom = routerFrom;
        _upTimeout = upTimeout;
    }

    public static string Node(int i) => $"{Prefix}-n{i}";

    public static string Container(int i) => $"{Prefix}-n{i}-c";

    public static string Lb => $"{Prefix}-lb";

    public async Task InitializeAsync()
    {
        if (!IsRoot())
        {
            throw new InvalidOperationException("the cluster-in-a-box tests need root (ip netns); run them as root");
        }

        if (Unavailable() is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        try
        {
            await ScriptAsync(_upTimeout, "up");
        }
        catch
        {
            await ScriptAsync(TimeSpan.FromMinutes(1), "down");
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        await ScriptAsync(TimeSpan.FromMinutes(1), "down");
        try
        {
            Directory.Delete(_state, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Why this box cannot start on this machine (a missing tool the script does not install itself), or null.</summary>
    protected virtual string? Unavailable() => null;

    /// <summary>Runs a step of <c>scripts/cluster</c> (kill-node 3, start-node 3, …) and fails on a non-zero exit.</summary>
    public Task<string> ScriptAsync(TimeSpan timeout, params string[] args) =>
        RunAsync("bash", [Path.Combine(RepoPaths.Root, "scripts", "cluster"), .. args], timeout);

    public Task<string> StepAsync(params string[] args) => ScriptAsync(TimeSpan.FromMinutes(2), args);

    /// <summary>Runs a command inside a namespace and returns its standard output; fails on a non-zero exit.</summary>
    public Task<string> ExecAsync(string ns, params string[] command) =>
        RunAsync("ip", ["netns", "exec", ns, .. command], TimeSpan.FromSeconds(30));

    /// <summary>Like <see cref="ExecAsync"/>, but returns the exit code and output instead of failing.</summary>
    public async Task<(int Code, string Output)> TryExecAsync(string ns, params string[] command)
    {
        var (code, output) = await RunRawAsync("ip", ["netns", "exec", ns, .. command], TimeSpan.FromSeconds(30));
        return (code, output);
    }

    /// <summary>The HTTP status code and body of a GET made with curl inside a namespace.</summary>
    public async Task<(int Status, string Body)> CurlAsync(string ns, string url, string? host = null)
    {
        string[] args = ["curl", "-s", "-m", "5", "-w", "\n%{http_code}", .. host is null ? Array.Empty<string>() : ["-H", $"Host: {host}"], url];
        var (_, output) = await TryExecAsync(ns, args);
        var cut = output.TrimEnd('\n').LastIndexOf('\n');
        var status = int.Parse(cut < 0 ? output.Trim() : output[(cut + 1)..].Trim(), CultureInfo.InvariantCulture);
        return (status, cut < 0 ? "" : output[..cut]);
    }

    /// <summary>An etcdctl command against node <paramref name="node"/>'s own member.</summary>
    public Task<string> EtcdctlAsync(int node, params string[] args) =>
        ExecAsync(Node(node), ["env", "ETCDCTL_API=3", "etcdctl", "--endpoints", "http://127.0.0.1:2379", "--command-timeout=5s", .. args]);

    /// <summary>The box's state folder (logs, the process scheduler's units under units/).</summary>
    public string StateFolder => _state;

    /// <summary>A log or file the box keeps in its state folder (haproxy.log, n1/router.log, …).</summary>
    public string StateFile(string name)
    {
        var path = Path.Combine(_state, name);
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>
    /// The balancer's last node state changes (haproxy.log's "is UP" / "is DOWN" lines), for a failure message: a 503
    /// under load is the balancer's own when it has no node UP.
    /// </summary>
    public string BalancerStateChanges()
    {
        var lines = StateFile("haproxy.log").Split('\n').Where(l => l.Contains(" is UP", StringComparison.Ordinal) || l.Contains(" is DOWN", StringComparison.Ordinal)).TakeLast(10).ToList();
        return lines.Count == 0 ? "the balancer logged no node state change" : "the balancer's last node state changes:\n" + string.Join('\n', lines);
    }

    /// <summary>The router's /status on node <paramref name="node"/>.</summary>
    public async Task<JsonElement> StatusAsync(int node)
    {
        var json = await ExecAsync(Node(node), "curl", "-sf", "-m", "5", "http://127.0.0.1:9090/status");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>The requests node <paramref name="node"/>'s router forwarded to "web" so far (its /metrics).</summary>
    public async Task<double> ForwardedAsync(int node)
    {
        var metrics = await ExecAsync(Node(node), "curl", "-sf", "-m", "5", "http://127.0.0.1:9090/metrics");
        return metrics.Split('\n')
            .Where(l => l.StartsWith("router_service_requests_total{", StringComparison.Ordinal) && l.Contains("service=\"web\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>Starts constant GET load from inside <paramref name="ns"/> (see load.py).</summary>
    public Load StartLoad(string ns, string url, string? host = null, int workers = 4)
    {
        var stop = Path.Combine(_state + "-load-" + Guid.NewGuid().ToString("N")[..8]);
        var script = Path.Combine(AppContext.BaseDirectory, "load.py");
        List<string> args = ["netns", "exec", ns, "python3", script, url, "--workers", workers.ToString(CultureInfo.InvariantCulture), "--stop-file", stop];
        if (host is not null)
        {
            args.AddRange(["--host", host]);
        }

        return new Load(TestProcess.Start("ip", args, ScriptEnvironment(), name: $"load in {ns}"), stop);
    }

    private static bool IsRoot()
    {
        try
        {
            return File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private Dictionary<string, string?> ScriptEnvironment() => new()
    {
        ["CLUSTER_STATE"] = _state,
        ["CLUSTER_NS_PREFIX"] = Prefix,
        ["CLUSTER_NO_BUILD"] = "1",
        ["CLUSTER_CONFIGURATION"] = RepoPaths.Configuration,
        ["CLUSTER_ROUTER_FROM"] = _routerFrom,
    };

    private async Task<string> RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var (code, output) = await RunRawAsync(file, args, timeout);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {code}:\n{output}");
        }

        return output;
    }

    private async Task<(int, string)> RunRawAsync(string file, string[] args, TimeSpan timeout)
    {
        await using var process = TestProcess.Start(file, args, ScriptEnvironment(), name: $"{file} {string.Join(' ', args.Take(4))}");
        var code = await process.WaitForExitAsync(timeout);

        // The output is read asynchronously; let it catch up with the exit.
        var watch = Stopwatch.StartNew();
        var output = process.Output;
        while (watch.ElapsedMilliseconds < 200 && output != process.Output)
        {
            output = process.Output;
        }

        return (code, process.Output);
    }
}
