using System.Globalization;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// Every shell block of README.md and docs/*.md is executed, or says why not (issue 23), so a doc cannot drift
/// from the code. The marker is an HTML comment on the line just before the fence:
/// <list type="bullet">
/// <item><c>&lt;!-- doc-test: run --&gt;</c>: run with <c>bash -e -o pipefail</c> (every command must
/// succeed), in order with the document's other blocks, on a <see cref="DocSandbox"/> node. <c>run, exit N</c>:
/// the block must end with exit code N (its last command reports problems that way, e.g. <c>router check</c>).</item>
/// <item><c>&lt;!-- doc-test: serve until: CMD --&gt;</c>: a command that runs until stopped (router, announcer):
/// started, CMD polled until it succeeds, then SIGTERM; it must not exit before.</item>
/// <item><c>&lt;!-- doc-test: not run: REASON --&gt;</c>: cannot run here (cloud, fleet, systemd or docker on a
/// node); DocExamplesTests still checks it with <c>bash -n</c>.</item>
/// <item><c>&lt;!-- doc-test: output --&gt;</c> on a <c>text</c> block right after a run block: the block must
/// print those lines (in order, each within a line; a line <c>…</c> for lines left out, <c>…</c> within a line
/// for text that differs from run to run, such as a revision).</item>
/// </list>
/// The docs show production addresses; <see cref="DocRun.Substitute"/> replaces them the same way everywhere.
/// </summary>
public sealed class DocRunTests
{
    private static readonly TimeSpan BlockTimeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Documents() => DocExamplesTests.Documents();

    [Theory]
    [MemberData(nameof(Documents))]
    public void EveryShellBlock_IsRunOrSaysWhyNot(string document)
    {
        var problems = Problems(Read(document));

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public async Task RunnableBlocks_DoWhatTheDocSays(string document)
    {
        var blocks = Read(document);
        var runnable = blocks.Where(b => b.Action is DocBlockAction.Run or DocBlockAction.Serve).ToList();
        if (runnable.Count == 0)
        {
            // Nothing to run: every block here is marked "not run" with its reason (checked above).
            Assert.All(blocks.Where(b => b.IsShell), b => Assert.Equal(DocBlockAction.NotRun, b.Action));
            return;
        }

        var addresses = DocRun.InstanceAddresses(string.Join('\n', runnable.Select(b => b.Text + b.Marker)));
        await using var node = await DocSandbox.StartAsync(addresses);
        for (var i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (block.Action == DocBlockAction.Run)
            {
                await node.WaitAppliedAsync();
                var script = node.Run.Substitute(block.Text);
                var (code, output) = await node.BashAsync(script, BlockTimeout);
                Assert.True(code == block.ExpectedExit, $"{block.Where}: exited {code}, not {block.ExpectedExit}:\n{output}\n--- as run:\n{script}");

                var next = i + 1 < blocks.Count ? blocks[i + 1] : null;
                if (next?.Action == DocBlockAction.Output)
                {
                    var missing = DocRun.FirstMissingLine(node.Run.Substitute(next.Text), output);
                    Assert.True(missing is null, $"{next.Where}: the output shown has '{missing}', the commands printed:\n{output}");
                }
            }
            else if (block.Action == DocBlockAction.Serve)
            {
                await node.WaitAppliedAsync();
                await ServeAsync(node, block);
            }
        }
    }

    [Fact]
    public void Problems_NameEveryShellBlockWithoutAMarker()
    {
        const string Doc = """
            <!-- doc-test: run -->
            ```bash
            etcdctl put /services/web/scheme http
            ```

            ```bash
            curl http://127.0.0.1/
            ```
            <!-- doc-test: not run: -->
            ```sh
            fleetctl list-machines
            ```
            <!-- doc-test: output -->
            ```text
            OK
            ```
              <!-- doc-test: serve until: true -->
              ```bash
              router
              ```
            """;

        var problems = Problems(DocBlock.Read("doc.md", Doc));

        Assert.Equal(3, problems.Count);
        Assert.Contains("doc.md line 6", problems[0], StringComparison.Ordinal);
        Assert.Contains("doc.md line 10", problems[1], StringComparison.Ordinal);
        Assert.Contains("doc.md line 14", problems[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TakesIndentedFencesAndTheirMarkers()
    {
        const string Doc = "- a step:\n\n  <!-- doc-test: serve until: true -->\n  ```bash\n  router \\\n    --http 1\n  ```\n";

        var block = Assert.Single(DocBlock.Read("doc.md", Doc));

        Assert.Equal(DocBlockAction.Serve, block.Action);
        Assert.Equal("true", block.ReadyCheck);
        Assert.Equal("router \\\n  --http 1\n", block.Text);
    }

    [Fact]
    public void Substitute_ReplacesEveryProductionAddressTheSameWay()
    {
        var run = new DocRun("http://127.0.0.1:23790", 18080, 19090, 15353, 25353, "/tmp/s", new Dictionary<string, string> { ["10.0.0.5:8080"] = "127.0.0.1:40001" });

        Assert.Equal("dig @127.0.0.1 -p 15353 web.local", run.Substitute("dig @172.17.42.1 web.local"));
        Assert.Equal("curl -s http://127.0.0.1:19090/status", run.Substitute("curl -s http://127.0.0.1:9090/status"));
        Assert.Equal("curl -H 'Host: web' http://127.0.0.1:18080/", run.Substitute("curl -H 'Host: web' http://127.0.0.1/"));
        Assert.Equal("curl http://127.0.0.1:18080", run.Substitute("curl http://127.0.0.1"));
        Assert.Equal("--etcd http://127.0.0.1:23790 --address 127.0.0.1:40001 --check http://127.0.0.1:40001/health",
            run.Substitute("--etcd http://10.0.0.1:2379 --address 10.0.0.5:8080 --check http://10.0.0.5:8080/health"));
        Assert.Equal("ETCD=http://127.0.0.1:23790", run.Substitute("ETCD=http://127.0.0.1:2379"));
        Assert.Equal("cat /tmp/s/etc/router/etcd-password", run.Substitute("cat /etc/router/etcd-password"));
        Assert.Equal("router --dns 127.0.0.1:15353 --dns-upstream 127.0.0.1:25353,127.0.0.1:25353", run.Substitute("router --dns 172.17.42.1:53 --dns-upstream 8.8.8.8,8.8.4.4:53"));

        // The answer address is not a listener: dig shows it as the doc does.
        Assert.Equal("web.local. 5 IN A 172.17.42.1", run.Substitute("web.local. 5 IN A 172.17.42.1"));

        // An address the doc's run blocks do not use as an instance stays as written.
        Assert.Equal("10.0.0.7:5671", run.Substitute("10.0.0.7:5671"));
        Assert.Equal(["10.0.0.5:8080", "10.0.0.6:5432"], DocRun.InstanceAddresses("a 10.0.0.5:8080 http://10.0.0.1:2379 10.0.0.6:5432 10.0.0.5:8080 10.0.0.7:99999"));
    }

    [Fact]
    public void Marker_RunWithExit_GivesTheExitCode()
    {
        var blocks = DocBlock.Read("doc.md", "<!-- doc-test: run, exit 1 -->\n```bash\nrouter check\n```\n<!-- doc-test: run -->\n```bash\ntrue\n```\n<!-- doc-test: run, exit x -->\n```bash\ntrue\n```\n");

        Assert.Equal([(DocBlockAction.Run, 1), (DocBlockAction.Run, 0), (DocBlockAction.None, 0)], blocks.Select(b => (b.Action, b.ExpectedExit)));
    }

    [Fact]
    public void FirstMissingLine_WantsEveryLineInOrder()
    {
        const string Output = "; <<>> DiG <<>> web.local\n;; ANSWER SECTION:\nweb.local.\t\t5\tIN\tA\t172.17.42.1\n\n;; Query time: 0 msec\n";

        Assert.Null(DocRun.FirstMissingLine(";; ANSWER SECTION:\n…\nweb.local. 5 IN A 172.17.42.1\n", Output));
        Assert.Equal("web.local. 5 IN A 10.0.0.1", DocRun.FirstMissingLine(";; ANSWER SECTION:\nweb.local. 5 IN A 10.0.0.1", Output));
        Assert.Equal(";; ANSWER SECTION:", DocRun.FirstMissingLine("web.local. 5 IN A 172.17.42.1\n;; ANSWER SECTION:", Output));

        // … within a line: any text there, the rest of the line as written.
        Assert.Null(DocRun.FirstMissingLine(";; Query time: … msec", Output));
        Assert.Equal(";; Query time: … usec", DocRun.FirstMissingLine(";; Query time: … usec", Output));
    }

    /// <summary>Starts a long-running block, waits for its ready check, stops it with SIGTERM and waits until all it started is gone.</summary>
    private static async Task ServeAsync(DocSandbox node, DocBlock block)
    {
        var script = node.Run.Substitute(block.Text);
        var check = node.Run.Substitute(block.ReadyCheck);
        await using var serve = node.StartBash(script, block.Where, newGroup: true);
        var group = serve.Id.ToString(CultureInfo.InvariantCulture);
        try
        {
            try
            {
                await Wait.UntilAsync(async () => serve.HasExited || (await node.BashAsync(check, BlockTimeout)).Code == 0, $"{block.Where}: '{check}' to succeed", BlockTimeout);
            }
            catch (TimeoutException e)
            {
                Assert.Fail($"{e.Message}; it printed:\n{serve.Output}\n--- as run:\n{script}");
            }

            Assert.False(serve.HasExited, $"{block.Where}: exited {(serve.HasExited ? serve.ExitCode : 0)} before '{check}' succeeded:\n{serve.Output}\n--- as run:\n{script}");
        }
        finally
        {
            await node.BashAsync($"kill -TERM -- -{group} 2>/dev/null || true", BlockTimeout);
            await Wait.UntilAsync(async () => (await node.BashAsync($"! kill -0 -- -{group} 2>/dev/null", BlockTimeout)).Code == 0, $"{block.Where}: every process it started to stop", BlockTimeout);
        }
    }

    private static List<DocBlock> Read(string document) =>
        DocBlock.Read(document, File.ReadAllText(Path.Combine(RepoPaths.Root, document)));

    private static List<string> Problems(List<DocBlock> blocks)
    {
        var problems = new List<string>();
        for (var i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (block.IsShell && block.Action is not (DocBlockAction.Run or DocBlockAction.Serve or DocBlockAction.NotRun))
            {
                problems.Add($"{block.Where}: a shell block with no '<!-- doc-test: run | serve until: CMD | not run: REASON -->' line before it{(block.Marker is null ? "" : $" (it has '{block.Marker}')")}");
            }
            else if (block.Action == DocBlockAction.Output && (block.Kind != "text" || i == 0 || blocks[i - 1].Action != DocBlockAction.Run))
            {
                problems.Add($"{block.Where}: an output block must be a text block right after a 'run' block");
            }
        }

        return problems;
    }
}
