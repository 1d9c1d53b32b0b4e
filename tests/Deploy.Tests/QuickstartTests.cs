using System.Globalization;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// The README's first command, <c>bash scripts/run</c>, as a newcomer runs it (on free ports here): it comes
/// up, every command it prints to try works, and Ctrl-C (SIGINT to the whole foreground process group, as a
/// terminal sends it) stops everything it started.
/// </summary>
public sealed class QuickstartTests
{
    [Fact]
    public async Task ScriptsRun_EveryPrintedCommandWorks_CtrlCStopsEverything()
    {
        // scripts/run gives etcd's peer the port after ETCD_PORT.
        var etcd = Ports.FreeTcpPair();
        var environment = new Dictionary<string, string?>
        {
            ["ETCD_PORT"] = etcd.ToString(CultureInfo.InvariantCulture),
            ["ROUTER_HTTP"] = $"127.0.0.1:{Ports.FreeTcp()}",
            ["ROUTER_ADMIN"] = $"127.0.0.1:{Ports.FreeTcp()}",
            ["DEMO_PORT"] = Ports.FreeTcp().ToString(CultureInfo.InvariantCulture),
            ["DEMO2_PORT"] = Ports.FreeTcp().ToString(CultureInfo.InvariantCulture),
            ["DNS_PORT"] = Ports.FreeTcpAndUdp().ToString(CultureInfo.InvariantCulture),
            ["UPSTREAM_PORT"] = Ports.FreeTcpAndUdp().ToString(CultureInfo.InvariantCulture),

            // Its build step would rewrite the router's files while other test assemblies run them.
            ["RUN_NO_BUILD"] = "1",
        };

        // setsid: the script leads a process group of its own, as a shell's foreground job does.
        await using var run = TestProcess.Start("setsid", ["bash", Path.Combine(RepoPaths.Root, "scripts", "run")], environment, name: "scripts/run");
        var group = run.Id;
        try
        {
            await run.WaitForOutputAsync("Router is running", TimeSpan.FromMinutes(5));
            await Wait.UntilAsync(() => Printed(run).Count >= 6, "the commands to try", TimeSpan.FromSeconds(10));

            foreach (var command in Printed(run))
            {
                var (code, output) = await ShAsync(command);
                Assert.True(code == 0 && output.Trim().Length > 0, $"'{command}' exited {code}:\n{output}\n--- scripts/run printed:\n{run.Output}");
                if (command.StartsWith("dig ", StringComparison.Ordinal))
                {
                    Assert.Contains("status: NOERROR", output, StringComparison.Ordinal);
                }
                else if (command.Contains("Host: demo", StringComparison.Ordinal) || command.EndsWith("/demo/", StringComparison.Ordinal))
                {
                    Assert.Contains("hello from the demo backend", output, StringComparison.Ordinal);
                }
            }

            // The last printed command adds a second, distinct backend: both now answer.
            var byHost = Printed(run).First(c => c.StartsWith("curl -H", StringComparison.Ordinal));
            await Wait.UntilAsync(async () => (await ShAsync(byHost)).Output.Contains("second demo backend", StringComparison.Ordinal), "the second demo backend to answer too");
        }
        finally
        {
            // Ctrl-C: SIGINT to every process of the group at once.
            await ShAsync($"kill -INT -- -{group.ToString(CultureInfo.InvariantCulture)}");
        }

        await run.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(() => GroupMembers(group).Count == 0, $"every process of the demo to stop (left: {string.Join(", ", GroupMembers(group))})", TimeSpan.FromSeconds(30));
    }

    /// <summary>The indented lines after "Router is running", without comments (a line of its own or after a command).</summary>
    private static List<string> Printed(TestProcess run) =>
        [.. run.Lines.SkipWhile(l => !l.StartsWith("Router is running", StringComparison.Ordinal)).Skip(1)
            .TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal))
            .Where(l => !l.TrimStart().StartsWith('#'))
            .Select(l => (l.Contains(" # ", StringComparison.Ordinal) ? l[..l.IndexOf(" # ", StringComparison.Ordinal)] : l).Trim())];

    private static async Task<(int Code, string Output)> ShAsync(string command)
    {
        await using var sh = TestProcess.Start("bash", ["-c", command], name: command);
        var code = await sh.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return (code, sh.Output);
    }

    /// <summary>Live processes whose process group is <paramref name="group"/> (zombies excluded).</summary>
    private static List<string> GroupMembers(int group)
    {
        var members = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && int.Parse(fields[2], CultureInfo.InvariantCulture) == group)
                {
                    members.Add($"{pid} {File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim()}");
                }
            }
            catch (IOException)
            {
            }
        }

        return members;
    }
}
