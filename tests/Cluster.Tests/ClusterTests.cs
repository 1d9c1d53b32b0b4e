using System.Text.Json;
using Router.Testing;
using Xunit.Abstractions;

namespace Router.Cluster.Tests;

/// <summary>
/// The system as deployed: three nodes on their production addresses, each with its router (command line
/// from units/router.service), etcd member, web instance and announcer; containers resolving through their
/// node; a load balancer in front. Each test leaves the box as it found it.
/// </summary>
[Collection(ClusterGroup.Name)]
public sealed class ClusterTests(ClusterBox box, ITestOutputHelper output)
{
    private const int Workers = 4;

    [Fact]
    public async Task Container_ResolvesLocalNamesThroughItsNode_AndReachesInstancesOnEveryNode()
    {
        var container = ClusterBox.Container(2);
        Assert.Equal("172.17.42.1", (await box.ExecAsync(container, "dig", "+short", "+time=2", "web.local")).Trim());

        // Other names go to the upstream inside the box (which answers example.test itself).
        Assert.Equal("10.99.0.254", (await box.ExecAsync(container, "dig", "+short", "+time=2", "www.example.test")).Trim());

        var answered = new HashSet<string>();
        await Wait.UntilAsync(async () =>
        {
            var (status, body) = await box.CurlAsync(container, "http://web.local/");
            Assert.Equal(200, status);
            answered.Add(body.Trim());
            return answered.Count == 3;
        }, "web.local from node 2's container to reach the instances of all three nodes");
        Assert.Equal(["web instance 1 on node 1", "web instance 2 on node 2", "web instance 3 on node 3"], answered.Order());
    }

    [Fact]
    public async Task ServiceThatLeaves_IsGoneFromEveryNodeWithinSeconds()
    {
        await box.EtcdctlAsync(1, "put", "/services/brief/scheme", "http");
        await box.EtcdctlAsync(1, "put", "/services/brief/hosts/1", "10.99.0.11:8080");
        for (var node = 1; node <= 3; node++)
        {
            var container = ClusterBox.Container(node);
            await Wait.UntilAsync(async () => (await box.CurlAsync(container, "http://brief.local/")).Status == 200, $"brief.local on node {node}");
        }

        await box.EtcdctlAsync(3, "del", "--prefix", "/services/brief/");
        for (var node = 1; node <= 3; node++)
        {
            var container = ClusterBox.Container(node);
            await Wait.UntilAsync(async () => (await box.CurlAsync(container, "http://brief.local/")).Status == 404, $"brief.local gone on node {node}", TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public async Task LoadBalancer_ReachesServiceByHostAndByPath_ThroughEveryNode()
    {
        for (var node = 1; node <= 3; node++)
        {
            var front = $"192.0.2.1{node}";
            var byHost = await box.CurlAsync(ClusterBox.Lb, $"http://{front}/", "web.example.com");
            Assert.Equal(200, byHost.Status);
            Assert.StartsWith("web instance", byHost.Body, StringComparison.Ordinal);

            var byPath = await box.CurlAsync(ClusterBox.Lb, $"http://{front}/web/");
            Assert.Equal(200, byPath.Status);
            Assert.StartsWith("web instance", byPath.Body, StringComparison.Ordinal);

            Assert.Equal(200, (await box.CurlAsync(ClusterBox.Lb, $"http://{front}/_router/healthz")).Status);
        }

        await using var load = box.StartLoad(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", "web.example.com", Workers);
        await load.WaitForMoreOkAsync(300);
        var result = await load.StopAsync();
        output.WriteLine(result.ToString());
        Assert.True(result.Failed == 0, $"{result}\n{box.BalancerStateChanges()}");

        // The balancer spread the load: every node's router forwarded some of it.
        for (var node = 1; node <= 3; node++)
        {
            Assert.True(await box.ForwardedAsync(node) > 0, $"node {node} forwarded nothing: {result}");
        }
    }

    [Fact]
    public async Task PrivateService_ServedToContainersAndNodes_NotToTheBalancersClients()
    {
        var outside = await box.CurlAsync(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", "secret.example.com");
        Assert.Equal(404, outside.Status);
        Assert.Equal(404, (await box.CurlAsync(ClusterBox.Lb, "http://192.0.2.13/", "secret.example.com")).Status);

        // A container on another node than the instance, and a node itself.
        var container = await box.CurlAsync(ClusterBox.Container(3), "http://secret.local/");
        Assert.Equal((200, "secret instance 1 on node 1"), (container.Status, container.Body.Trim()));
        var node = await box.CurlAsync(ClusterBox.Node(2), "http://127.0.0.1/", "secret.local");
        Assert.Equal(200, node.Status);
    }

    [Fact]
    public async Task InstanceKilled_CostsAtMostTheRequestsInFlight()
    {
        await using var load = box.StartLoad(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", "web.example.com", Workers);
        await load.WaitForMoreOkAsync(200);

        // kill -9 of the instance and its announcer: nothing withdraws it, its lease runs out (TTL 5 s).
        await box.StepAsync("kill-instance", "1");
        await WaitHostGoneAsync("web", "1");
        await load.WaitForMoreOkAsync(300);
        var result = await load.StopAsync();
        output.WriteLine(result.ToString());

        try
        {
            Assert.True(result.Failed <= Workers, $"more failures than requests in flight: {result}");
            Assert.True(result.Ok > 500, result.ToString());
        }
        finally
        {
            await box.StepAsync("start-instance", "1");
            await WaitHostBackAsync("web", "1");
        }
    }

    [Fact]
    public async Task NodeLost_BalancerDropsIt_OthersKeepRouting_AndItRejoinsByItself()
    {
        await using var load = box.StartLoad(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", "web.example.com", Workers);
        await load.WaitForMoreOkAsync(200);

        // Node 3 lost whole: its etcd member, router, instance and announcer die at once.
        await box.StepAsync("kill-node", "3");
        await WaitHostGoneAsync("web", "3");

        // etcd keeps quorum with two of three members: a write succeeds.
        await box.EtcdctlAsync(1, "put", "/cluster-test/quorum", "yes");

        // The balancer takes it out by its health check on /_router/healthz.
        await Wait.UntilAsync(() => box.StateFile("haproxy.log").Contains("nodes/n3 is DOWN", StringComparison.Ordinal), "the balancer to mark node 3 down");
        await load.WaitForMoreOkAsync(300);

        // The node comes back: same data dir, same command lines, no manual step.
        await box.StepAsync("start-node", "3");
        await WaitHostBackAsync("web", "3");
        var before = await box.ForwardedAsync(3);
        await Wait.UntilAsync(() => box.StateFile("haproxy.log").Contains("nodes/n3 is UP", StringComparison.Ordinal), "the balancer to mark node 3 up again", TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(async () => await box.ForwardedAsync(3) > before + 20, "the balancer to send traffic to node 3 again", TimeSpan.FromSeconds(30));
        var result = await load.StopAsync();
        output.WriteLine(result.ToString());

        Assert.True(result.Failed <= 2 * Workers, $"a lost node cost more than the requests in flight on it: {result}");
        var three = await box.StatusAsync(3);
        var one = await box.StatusAsync(1);
        await Wait.UntilAsync(async () => Revision(await box.StatusAsync(3)) >= Revision(one), "node 3's router to catch up with the registry");
        Assert.Contains(Hosts(three, "web"), h => h == "3");
    }

    [Fact]
    public async Task RouterRestartedWhileItsEtcdMemberIsDown_ServesItsStateFile_ThenConverges()
    {
        await box.StepAsync("kill-etcd", "2");
        await box.StepAsync("kill-router", "2");
        await box.StepAsync("start-router", "2");
        try
        {
            // The unit points the router at its own member only: what it serves now comes from the state file.
            await Wait.UntilAsync(async () => (await box.CurlAsync(ClusterBox.Container(2), "http://web.local/")).Status == 200, "node 2 to route web from its state file");

            // A change made while node 2's member is away reaches it once the member is back.
            await box.EtcdctlAsync(1, "put", "/services/latecomer/scheme", "http");
            await box.EtcdctlAsync(1, "put", "/services/latecomer/hosts/1", "10.99.0.11:8080");
            Assert.Equal(404, (await box.CurlAsync(ClusterBox.Container(2), "http://latecomer.local/")).Status);
        }
        finally
        {
            await box.StepAsync("start-etcd", "2");
        }

        await Wait.UntilAsync(async () => (await box.CurlAsync(ClusterBox.Container(2), "http://latecomer.local/")).Status == 200, "node 2 to converge once its member is back", TimeSpan.FromSeconds(60));
        await box.EtcdctlAsync(1, "del", "--prefix", "/services/latecomer/");
    }

    private static long Revision(JsonElement status) => status.GetProperty("etcd").GetProperty("revision").GetInt64();

    private static IEnumerable<string> Hosts(JsonElement status, string service) =>
        status.GetProperty("services").EnumerateArray()
            .Where(s => s.GetProperty("name").GetString() == service)
            .SelectMany(s => s.GetProperty("hosts").EnumerateArray())
            .Select(h => h.GetProperty("id").GetString()!);

    private Task WaitHostGoneAsync(string service, string id) =>
        Wait.UntilAsync(async () => (await box.EtcdctlAsync(1, "get", $"/services/{service}/hosts/{id}")).Trim().Length == 0, $"{service}/hosts/{id} to leave etcd", TimeSpan.FromSeconds(30));

    private Task WaitHostBackAsync(string service, string id) =>
        Wait.UntilAsync(async () => (await box.EtcdctlAsync(1, "get", $"/services/{service}/hosts/{id}")).Trim().Length > 0, $"{service}/hosts/{id} to be registered again", TimeSpan.FromSeconds(60));
}
