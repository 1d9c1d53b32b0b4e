using Router.Testing;

namespace Router.Cluster.Tests;

/// <summary>scripts/cluster's bad input, checked before it touches anything (no root, no box needed).</summary>
public sealed class ClusterScriptTests
{
    [Fact]
    public async Task UnknownRouterVariant_RefusedWithItsName_BeforeAnyStep()
    {
        var (code, output) = await RunAsync("podman", "env");
        Assert.Equal(2, code);
        Assert.Contains("CLUSTER_ROUTER_FROM: 'podman' is neither binary nor image", output, StringComparison.Ordinal);
        Assert.DoesNotContain("CLUSTER_LB=", output, StringComparison.Ordinal);

        // The two it knows pass the same check.
        foreach (var known in new[] { "binary", "image" })
        {
            var (ok, env) = await RunAsync(known, "env");
            Assert.Equal(0, ok);
            Assert.Contains("CLUSTER_LB=192.0.2.1", env, StringComparison.Ordinal);
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string routerFrom, params string[] args)
    {
        var environment = new Dictionary<string, string?>
        {
            ["CLUSTER_ROUTER_FROM"] = routerFrom,
            ["CLUSTER_STATE"] = Path.Combine(Path.GetTempPath(), "router-cluster-script-" + Guid.NewGuid().ToString("N")[..8]),
        };
        await using var process = TestProcess.Start("bash", [Path.Combine(RepoPaths.Root, "scripts", "cluster"), .. args], environment, name: "scripts/cluster " + args[0]);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => process.Output.Length > 0, "scripts/cluster's output");
        return (code, process.Output);
    }
}
