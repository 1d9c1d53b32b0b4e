using System.Globalization;
using System.Text.Json;
using Router.Testing;
using Xunit.Abstractions;

namespace Router.Cluster.Tests;

/// <summary>
/// The box of <see cref="ClusterTests"/> with every node's router run from the router image, as units/router.service
/// runs it (issue 16, "Where the images fit"). Each test keeps constant load on the load balancer and counts it.
/// </summary>
[Collection(ImageClusterGroup.Name)]
public sealed class ImageClusterTests(ImageClusterBox box, ITestOutputHelper output)
{
    private const int Workers = 4;

    // CAP_NET_BIND_SERVICE is bit 10 (linux/capability.h): the only capability the unit leaves the container.
    private const string NetBindServiceOnly = "0000000000000400";

    [Fact]
    public async Task EveryRouter_RunsFromTheImage_WithTheUnitsFlags_OnItsNodesAddresses()
    {
        for (var node = 1; node <= 3; node++)
        {
            using var inspect = JsonDocument.Parse(await box.DockerAsync(node, "inspect", "router"));
            var container = inspect.RootElement[0];
            Assert.Equal(ImageClusterBox.Image, container.GetProperty("Config").GetProperty("Image").GetString());
            var host = container.GetProperty("HostConfig");
            Assert.Equal("host", host.GetProperty("NetworkMode").GetString());
            Assert.Equal(["ALL"], host.GetProperty("CapDrop").EnumerateArray().Select(c => c.GetString()));
            Assert.Equal(["NET_BIND_SERVICE"], host.GetProperty("CapAdd").EnumerateArray().Select(c => c.GetString()));
            Assert.Contains(host.GetProperty("Binds").EnumerateArray(), b => b.GetString()!.EndsWith(":/var/lib/router", StringComparison.Ordinal));
            var nofile = host.GetProperty("Ulimits").EnumerateArray().Single(u => u.GetProperty("Name").GetString() == "nofile");
            Assert.Equal((ExpectedOpenFiles, ExpectedOpenFiles), (nofile.GetProperty("Soft").GetInt64(), nofile.GetProperty("Hard").GetInt64()));

            // The router process itself: the image's user, only the one capability, in the node's namespace.
            var pid = int.Parse((await box.DockerAsync(node, "inspect", "-f", "{{.State.Pid}}", "router")).Trim(), CultureInfo.InvariantCulture);
            var status = await File.ReadAllLinesAsync($"/proc/{pid}/status");
            Assert.Equal("1654", Field(status, "Uid:"));
            Assert.Equal(NetBindServiceOnly, Field(status, "CapEff:"));
            Assert.Equal(ClusterBox.Node(node), (await box.ExecAsync(ClusterBox.Node(node), "ip", "netns", "identify", pid.ToString(CultureInfo.InvariantCulture))).Trim());

            // It holds the node's :80, the admin port on the node's loopback and DNS on the node's docker0.
            var listening = await box.ExecAsync(ClusterBox.Node(node), "ss", "-Hlnptu");
            foreach (var endpoint in new[] { "0.0.0.0:80 ", "127.0.0.1:9090 ", "172.17.42.1:53 " })
            {
                Assert.Contains(listening.Split('\n'), l => l.Contains(endpoint, StringComparison.Ordinal) && l.Contains($"pid={pid},", StringComparison.Ordinal));
            }

            // The state file is written through the unit's -v into the node's folder, by the image's user.
            var stateFile = new FileInfo(Path.Combine(box.StateFolder, $"n{node}", "var", "lib", "router", "registry.json"));
            await Wait.UntilAsync(() => { stateFile.Refresh(); return stateFile.Exists && stateFile.Length > 0; }, $"node {node}'s router to save its registry in the mounted folder");
        }
    }

    [Fact]
    public async Task ContainerOnNode2_ResolvesWebLocalThroughItsNode_AndReachesInstancesOnNodes1And3_UnderLoad()
    {
        await using var load = box.StartLoad(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", "web.example.com", Workers);
        await load.WaitForMoreOkAsync(100);

        var container = ClusterBox.Container(2);
        Assert.Equal("172.17.42.1", (await box.ExecAsync(container, "dig", "+short", "+time=2", "web.local")).Trim());

        var answered = new HashSet<string>();
        await Wait.UntilAsync(async () =>
        {
            var (status, body) = await box.CurlAsync(container, "http://web.local/");
            Assert.Equal(200, status);
            answered.Add(body.Trim());
            return answered.Contains("web instance 1 on node 1") && answered.Contains("web instance 3 on node 3");
        }, "web.local from node 2's container to reach the instances of nodes 1 and 3");

        await load.WaitForMoreOkAsync(100);
        var result = await load.StopAsync();
        output.WriteLine(result.ToString());
        Assert.True(result.Failed == 0, $"{result}\n{box.BalancerStateChanges()}");
    }

    [Fact]
    public async Task LoadBalancer_ReachesServiceByHostAndByPath_ThroughEveryNode_UnderLoad()
    {
        await using var load = box.StartLoad(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", "web.example.com", Workers);
        await load.WaitForMoreOkAsync(100);
        var before = new double[4];
        for (var node = 1; node <= 3; node++)
        {
            before[node] = await box.ForwardedAsync(node);
            var front = $"192.0.2.1{node}";
            var byHost = await box.CurlAsync(ClusterBox.Lb, $"http://{front}/", "web.example.com");
            Assert.Equal(200, byHost.Status);
            Assert.StartsWith("web instance", byHost.Body, StringComparison.Ordinal);

            var byPath = await box.CurlAsync(ClusterBox.Lb, $"http://{front}/web/");
            Assert.Equal(200, byPath.Status);
            Assert.StartsWith("web instance", byPath.Body, StringComparison.Ordinal);
        }

        await load.WaitForMoreOkAsync(300);
        var result = await load.StopAsync();
        output.WriteLine(result.ToString());
        Assert.True(result.Failed == 0, $"{result}\n{box.BalancerStateChanges()}");

        // The balancer spread the load over every node's router.
        for (var node = 1; node <= 3; node++)
        {
            Assert.True(await box.ForwardedAsync(node) > before[node] + 2, $"node {node} forwarded too little: {result}");
        }
    }

    [Fact]
    public async Task RouterContainerKilled_BalancerDropsTheNode_CostsAtMostTheRequestsInFlight_AndItComesBack()
    {
        var downs = Count(box.StateFile("haproxy.log"), "nodes/n2 is DOWN");
        var ups = Count(box.StateFile("haproxy.log"), "nodes/n2 is UP");
        await using var load = box.StartLoad(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", "web.example.com", Workers);
        await load.WaitForMoreOkAsync(200);

        // kill -9 of the router's container (docker kill: SIGKILL to its PID 1, the router): no drain, no 503 first.
        await box.StepAsync("kill-router", "2");
        await Wait.UntilAsync(() => Count(box.StateFile("haproxy.log"), "nodes/n2 is DOWN") > downs, "the balancer to mark node 2 down", TimeSpan.FromSeconds(30));
        await load.WaitForMoreOkAsync(300);

        // The unit's restart: the same docker run, the same image, the state file from the mounted folder.
        await box.StepAsync("start-router", "2");
        await box.StepAsync("wait-ready", "2");
        await Wait.UntilAsync(() => Count(box.StateFile("haproxy.log"), "nodes/n2 is UP") > ups, "the balancer to mark node 2 up again", TimeSpan.FromSeconds(30));
        var forwarded = await box.ForwardedAsync(2);
        await Wait.UntilAsync(async () => await box.ForwardedAsync(2) > forwarded + 20, "the balancer to send traffic through node 2 again", TimeSpan.FromSeconds(30));
        var result = await load.StopAsync();
        output.WriteLine(result.ToString());

        Assert.True(result.Failed <= Workers, $"more failures than requests in flight: {result}");
        Assert.True(result.Ok > 500, result.ToString());

        // The restarted container started from the registry its predecessor saved through the unit's -v (event 20, Seeded).
        var seeded = box.StateFile("n2/router.log").Split('\n').Where(l => l.Contains("\"Name\":\"Seeded\"", StringComparison.Ordinal));
        Assert.Contains(seeded, l => l.Contains("/var/lib/router/registry.json", StringComparison.Ordinal));
    }

    /// <summary>
    /// The unit's --ulimit nofile, or this machine's own hard limit where root cannot raise it (no CAP_SYS_RESOURCE,
    /// bit 24 of CapEff) and it is lower: scripts/cluster then lowers the flag, since runc would refuse to start.
    /// </summary>
    private static long ExpectedOpenFiles
    {
        get
        {
            var unit = File.ReadAllText(Path.Combine(RepoPaths.Root, "units", "router.service"));
            var flag = unit[(unit.IndexOf("--ulimit nofile=", StringComparison.Ordinal) + "--ulimit nofile=".Length)..];
            var wanted = long.Parse(flag[..flag.IndexOf(':', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            var status = File.ReadAllLines("/proc/self/status");
            var canRaise = (ulong.Parse(Field(status, "CapEff:"), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << 24)) != 0;
            var hard = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
            return canRaise || hard == "unlimited" ? wanted : Math.Min(wanted, long.Parse(hard, CultureInfo.InvariantCulture));
        }
    }

    private static string Field(string[] status, string name) =>
        status.Single(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Trim().Split('\t', ' ')[0];

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
