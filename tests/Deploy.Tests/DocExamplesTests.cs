using System.Text.RegularExpressions;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// The fenced blocks of README.md and docs/*.md (issue 23): each says what it is (bash, sh, text, ini, yaml,
/// json), so nothing meant to be typed hides in an unlabelled block; every shell block is valid bash; every
/// ini block that quotes a unit is a piece of a shipped file.
/// </summary>
public sealed partial class DocExamplesTests
{
    private static readonly string[] Kinds = ["bash", "sh", "text", "ini", "yaml", "json"];

    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string>();
        data.Add("README.md");
        foreach (var doc in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(RepoPaths.Root, doc));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void EveryFencedBlock_SaysWhatItIs(string document)
    {
        var unlabelled = Blocks(document).Where(b => !Kinds.Contains(b.Kind)).Select(b => $"line {b.Line}: '```{b.Kind}'").ToList();

        Assert.True(unlabelled.Count == 0, $"{document}: blocks need one of {string.Join(", ", Kinds)}: {string.Join("; ", unlabelled)}");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public async Task EveryShellBlock_IsValidBash(string document)
    {
        foreach (var block in Blocks(document).Where(b => b.Kind is "bash" or "sh"))
        {
            var file = Path.GetTempFileName();
            try
            {
                await File.WriteAllTextAsync(file, block.Text);
                await using var bash = TestProcess.Start("bash", ["-n", file], name: "bash -n");
                var code = await bash.WaitForExitAsync(TimeSpan.FromSeconds(30));
                Assert.True(code == 0, $"{document} line {block.Line}: bash -n says:\n{bash.Output}\n---\n{block.Text}");
            }
            finally
            {
                File.Delete(file);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void EveryUnitExcerpt_IsPartOfAShippedFile(string document)
    {
        var shipped = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "units"))
            .Concat(Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "deploy"), "*", SearchOption.AllDirectories))
            .Append(Path.Combine(RepoPaths.Root, "cloud-config.yaml"))
            .Select(File.ReadAllText)
            .Select(Unindent)
            .ToList();

        foreach (var block in Blocks(document).Where(b => b.Kind == "ini" && SectionHeader().IsMatch(b.Text)))
        {
            if (block.Fragment)
            {
                // Marked as lines to add, not a shipped file: at least unit syntax, and no end-of-line
                // comment (systemd has none: "Key=value # why" makes "# why" part of the value).
                Assert.All(block.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')), l =>
                    Assert.True(SectionHeader().IsMatch(l) || (UnitLine().IsMatch(l) && !l.Contains(" #", StringComparison.Ordinal)), $"{document} line {block.Line}: '{l}' is not a unit line"));
                continue;
            }

            Assert.True(shipped.Any(s => s.Contains(Unindent(block.Text).TrimEnd('\n'), StringComparison.Ordinal)), $"{document} line {block.Line}: a unit excerpt that no file in units/, deploy/ or cloud-config.yaml contains as written");
        }
    }

    [Fact]
    public void Blocks_FindsLabelledAndUnlabelledBlocks()
    {
        // The parser itself: a check that found no block would pass for any document.
        Assert.Contains(Blocks("README.md"), b => b.Kind == "bash" && b.Text.Contains("scripts/run", StringComparison.Ordinal));
        Assert.Contains(Blocks("docs/announcer.md"), b => b.Kind == "ini");
        Assert.True(Blocks("docs/deploy.md").Count >= 10);
    }

    /// <summary>
    /// The fenced blocks, indented ones (in a list item) included: where each starts, its kind, its text, and
    /// whether the line before it marks it as a fragment (<c>&lt;!-- doc-test: fragment … --&gt;</c>: lines to
    /// add to a unit, not a shipped file).
    /// </summary>
    private static List<(int Line, string Kind, string Text, bool Fragment)> Blocks(string document) =>
        [.. DocBlock.Read(document, File.ReadAllText(Path.Combine(RepoPaths.Root, document)))
            .Select(b => (b.Line, b.Kind, b.Text, b.Marker?.StartsWith("fragment", StringComparison.Ordinal) == true))];

    /// <summary>Files embedded in YAML (cloud-config, Butane) are indented; an excerpt in a doc is not.</summary>
    private static string Unindent(string text) =>
        string.Join('\n', text.Split('\n').Select(l => l.TrimStart()));

    [GeneratedRegex(@"^\[(Unit|Service|Install|X-Fleet|Socket|Timer)\]", RegexOptions.Multiline)]
    private static partial Regex SectionHeader();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9]*=\S")]
    private static partial Regex UnitLine();
}
