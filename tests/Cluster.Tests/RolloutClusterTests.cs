using System.Text.Json;
using Router.Rollout.Processes;
using Router.Testing;
using Xunit.Abstractions;

namespace Router.Cluster.Tests;

/// <summary>
/// The rolling update across the box's nodes (issue 16, point 6): three instances of "api" at v1, one per
/// node, each beside its announcer; <c>router rollout</c> (run on node 1 by <c>scripts/cluster rollout</c>, the
/// process scheduler placing instance N on node ((N-1) mod 3)+1) replaces them with v2 while the load balancer's
/// clients send requests through every node. Not one request may fail.
/// </summary>
[Collection(ClusterGroup.Name)]
public sealed class RolloutClusterTests(ClusterBox box, ITestOutputHelper output)
{
    private const string Service = "api";

    [Fact]
    public async Task RollingUpdate_AcrossTheNodes_UnderLoad_FailsNoRequest()
    {
        var units = Path.Combine(box.StateFolder, "units", Service);
        await box.StepAsync("rollout-unit", units);
        var scheduler = new ProcessScheduler(units);
        try
        {
            for (var n = 1; n <= 3; n++)
            {
                await scheduler.StartAsync(Service, n, "v1", CancellationToken.None);
            }

            // Every node's router routes to all three before the load starts.
            await Wait.UntilAsync(async () =>
            {
                for (var node = 1; node <= 3; node++)
                {
                    if (UpHosts(await box.StatusAsync(node)).Count != 3)
                    {
                        return false;
                    }
                }

                return true;
            }, "every router to route api to its three v1 instances", TimeSpan.FromSeconds(60));

            await using var load = box.StartLoad(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", $"{Service}.example.com", workers: 4);
            await load.WaitForMoreOkAsync(200);

            var log = await box.ScriptAsync(TimeSpan.FromMinutes(4), "rollout", Service, "--to", "v2", "--min-healthy", "3", "--drain", "2");
            output.WriteLine(log);
            await load.WaitForMoreOkAsync(300);
            var result = await load.StopAsync();
            output.WriteLine(result.ToString());

            Assert.Equal(0, result.Failed);
            Assert.Contains(result.Bodies.Keys, b => b.Contains(" v1 on node ", StringComparison.Ordinal));
            Assert.Contains(result.Bodies.Keys, b => b.Contains(" v2 on node ", StringComparison.Ordinal));

            // Every node now routes to the three new instances only, one on each node.
            for (var node = 1; node <= 3; node++)
            {
                Assert.Equal(["4", "5", "6"], UpHosts(await box.StatusAsync(node)).Order());
            }

            var instances = await scheduler.ListAsync(Service, CancellationToken.None);
            Assert.Equal([(4, "v2"), (5, "v2"), (6, "v2")], instances.Select(i => (i.Number, i.Version)).Order());
            var answered = new HashSet<string>();
            await Wait.UntilAsync(async () =>
            {
                var (status, body) = await box.CurlAsync(ClusterBox.Lb, $"http://{ClusterBox.LoadBalancer}/", $"{Service}.example.com");
                Assert.Equal(200, status);
                answered.Add(body.Trim());
                return answered.Count == 3;
            }, "the balancer's clients to reach the v2 instance on each node");
            Assert.Equal(["api instance 4 v2 on node 1", "api instance 5 v2 on node 2", "api instance 6 v2 on node 3"], answered.Order());
        }
        finally
        {
            foreach (var instance in await scheduler.ListAsync(Service, CancellationToken.None))
            {
                await scheduler.RemoveAsync(Service, instance.Number, CancellationToken.None);
            }

            await box.EtcdctlAsync(1, "del", "--prefix", $"/services/{Service}/");
            await box.EtcdctlAsync(1, "del", "--prefix", $"/rollouts/{Service}/");
        }
    }

    private static List<string> UpHosts(JsonElement status) =>
        [.. status.GetProperty("services").EnumerateArray()
            .Where(s => s.GetProperty("name").GetString() == Service)
            .SelectMany(s => s.GetProperty("hosts").EnumerateArray())
            .Where(h => h.GetProperty("health").GetString() == "up")
            .Select(h => h.GetProperty("id").GetString()!)];
}
