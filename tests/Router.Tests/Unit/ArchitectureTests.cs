using System.Text.RegularExpressions;
using Router.Testing;
using Xunit.Abstractions;

namespace Router.Tests;

/// <summary>
/// docs/design.md draws which folder of src/Router uses which. The drawing is checked against the compiled
/// router, so a new dependency between folders (above all one that closes a new cycle) is a decision made
/// in the doc, not an accident of a using line.
/// </summary>
public partial class ArchitectureTests(ITestOutputHelper output)
{
    private static readonly string DesignDoc = Path.Combine(RepoPaths.Root, "docs", "design.md");

    [Fact]
    public void FolderGraph_IsTheOneDocsDesignDraws()
    {
        var actual = FolderGraph.Edges(typeof(Router.Hosting.RouterHost).Assembly, "Router");
        var documented = DocumentedEdges();
        output.WriteLine("The folder graph as compiled (for docs/design.md):");
        foreach (var group in actual.GroupBy(e => e.From))
        {
            output.WriteLine($"{group.Key} -> {string.Join(", ", group.Select(e => e.To))}");
        }

        var added = actual.Except(documented).Select(e => $"{e.From} -> {e.To}").ToList();
        var gone = documented.Except(actual).Select(e => $"{e.From} -> {e.To}").ToList();
        Assert.True(added.Count == 0, $"folders use each other in ways docs/design.md does not show: {string.Join("; ", added)}");
        Assert.True(gone.Count == 0, $"docs/design.md shows uses the code no longer has: {string.Join("; ", gone)}");
    }

    [Fact]
    public void FolderCycles_AreOnlyTheKnownOnes()
    {
        var cycles = FolderGraph.Cycles(FolderGraph.Edges(typeof(Router.Hosting.RouterHost).Assembly, "Router"))
            .Select(c => string.Join(" ", c))
            .Order(StringComparer.Ordinal)
            .ToList();
        var known = DocumentedCycles().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(known, cycles);
    }

    /// <summary>
    /// Each assembly's types live under its own namespace root, and no other assembly uses that root: so
    /// <c>Router.Dns</c> and <c>Router.Registry</c> are assemblies, never folders of the router (docs/design.md,
    /// "Assemblies"). Namespaces that source generators write into (System…, Microsoft…) are theirs.
    /// </summary>
    [Fact]
    public void Namespaces_AreOneRootPerAssembly()
    {
        (System.Reflection.Assembly Assembly, string Root)[] assemblies =
        [
            (typeof(Router.Registry.RegistryLayout).Assembly, "Router.Registry"),
            (typeof(Router.Dns.DnsOptions).Assembly, "Router.Dns"),
            (typeof(RepoPaths).Assembly, "Router.Testing"),
        ];
        var router = typeof(Router.Hosting.RouterHost).Assembly;
        var problems = new List<string>();
        foreach (var (assembly, root) in assemblies)
        {
            problems.AddRange(Namespaces(assembly)
                .Where(n => n != root && !n.StartsWith(root + ".", StringComparison.Ordinal))
                .Select(n => $"{assembly.GetName().Name} holds namespace {n}, outside {root}"));
        }

        string[] others = [.. assemblies.Select(a => a.Root), "Router.Announcer", "Router.Tests"];
        problems.AddRange(Namespaces(router)
            .Where(n => !n.StartsWith("Router", StringComparison.Ordinal)
                || others.Any(o => n == o || n.StartsWith(o + ".", StringComparison.Ordinal)))
            .Select(n => $"the router holds namespace {n}, which is not its own"));
        Assert.True(problems.Count == 0, string.Join("; ", problems));
        Assert.Contains("Router.Routing", Namespaces(router));
    }

    private static HashSet<string> Namespaces(System.Reflection.Assembly assembly) =>
        [.. assembly.GetTypes()
            .Select(t => t.Namespace)
            .OfType<string>()
            .Where(n => !n.StartsWith("System", StringComparison.Ordinal) && !n.StartsWith("Microsoft", StringComparison.Ordinal))];

    [Fact]
    public void Cycles_FindsACycleAndIgnoresAChain()
    {
        Assert.Empty(FolderGraph.Cycles([("A", "B"), ("B", "C")]));
        var cycle = Assert.Single(FolderGraph.Cycles([("A", "B"), ("B", "C"), ("C", "A"), ("C", "D")]));
        Assert.Equal(["A", "B", "C"], cycle);
    }

    [Fact]
    public void Edges_SeeAUseInsideAMethodBody()
    {
        // GraphSample/Caller uses GraphSample/Callee only inside a method body, never in a signature.
        Assert.Equal(42, GraphSample.Caller.Caller.Run());
        var edges = FolderGraph.Edges(typeof(ArchitectureTests).Assembly, "Router.Tests.GraphSample");
        Assert.Equal([("Caller", "Callee")], edges);
    }

    /// <summary>The lines "A -> B, C" of docs/design.md's <c>text</c> block after the marker.</summary>
    private static SortedSet<(string From, string To)> DocumentedEdges()
    {
        var edges = new SortedSet<(string, string)>();
        foreach (var line in Block("folder-graph"))
        {
            var match = EdgeLine().Match(line);
            Assert.True(match.Success, $"docs/design.md, folder graph: '{line}' is not 'Folder -> Folder, Folder'");
            foreach (var to in match.Groups["to"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                edges.Add((match.Groups["from"].Value, to));
            }
        }

        return edges;
    }

    /// <summary>The cycles docs/design.md lists, one per line; a block of the single line <c>none</c> lists none.</summary>
    private static List<string> DocumentedCycles()
    {
        var lines = Block("folder-cycles");
        return lines is ["none"] ? [] : lines;
    }

    /// <summary>The non-empty lines of the fenced block that follows <c>&lt;!-- NAME --&gt;</c> in docs/design.md.</summary>
    private static List<string> Block(string name)
    {
        var lines = File.ReadAllLines(DesignDoc);
        var marker = Array.IndexOf(lines, $"<!-- {name} -->");
        Assert.True(marker >= 0, $"docs/design.md has no '<!-- {name} -->' marker");
        Assert.StartsWith("```", lines[marker + 1], StringComparison.Ordinal);
        return lines.Skip(marker + 2).TakeWhile(l => !l.StartsWith("```", StringComparison.Ordinal)).Where(l => l.Trim().Length > 0).Select(l => l.Trim()).ToList();
    }

    [GeneratedRegex(@"^(?<from>[A-Za-z/]+) -> (?<to>[A-Za-z/, ]+)$")]
    private static partial Regex EdgeLine();
}
