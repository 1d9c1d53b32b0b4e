using System.Globalization;
using System.Text.RegularExpressions;

namespace Router.Deploy.Tests;

/// <summary>
/// One fenced block of a Markdown document, with the <c>&lt;!-- doc-test: … --&gt;</c> marker on the line just
/// before its fence, if any. Fences may be indented (a block inside a list item); the indentation of the fence is
/// taken off every line of the block, as Markdown does.
/// </summary>
internal sealed partial record DocBlock(string Document, int Line, string Kind, string Text, string? Marker)
{
    /// <summary>What the marker says to do with a shell block.</summary>
    public DocBlockAction Action =>
        Marker switch
        {
            "run" => DocBlockAction.Run,
            _ when Marker is not null && RunWithExit().IsMatch(Marker) => DocBlockAction.Run,
            _ when Marker?.StartsWith("serve until: ", StringComparison.Ordinal) == true => DocBlockAction.Serve,
            _ when Marker?.StartsWith("not run: ", StringComparison.Ordinal) == true && Marker.Length > "not run: ".Length => DocBlockAction.NotRun,
            "output" => DocBlockAction.Output,
            _ => DocBlockAction.None,
        };

    /// <summary>The exit code a run block must end with: 0, or N for <c>run, exit N</c> (a command that reports problems by its exit code, last in its block).</summary>
    public int ExpectedExit => Marker is not null && RunWithExit().Match(Marker) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    /// <summary>For a <c>serve until: CMD</c> block, CMD.</summary>
    public string ReadyCheck => Marker!["serve until: ".Length..];

    public bool IsShell => Kind is "bash" or "sh";

    public string Where => $"{Document} line {Line}";

    public static List<DocBlock> Read(string document, string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var blocks = new List<DocBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            var indent = open.Groups[1].Value;
            var end = Array.FindIndex(lines, i + 1, l => l.StartsWith(indent + "```", StringComparison.Ordinal) && l.Trim() == "```");
            if (end < 0)
            {
                throw new FormatException($"{document} line {i + 1}: a fence that never closes");
            }

            var text = string.Join('\n', lines[(i + 1)..end].Select(l => l.StartsWith(indent, StringComparison.Ordinal) ? l[indent.Length..] : l.TrimStart())) + "\n";
            var marker = i > 0 ? MarkerLine().Match(lines[i - 1]) : Match.Empty;
            blocks.Add(new DocBlock(document, i + 1, open.Groups[2].Value.Trim(), text, marker.Success ? marker.Groups[1].Value.Trim() : null));
            i = end;
        }

        return blocks;
    }

    [GeneratedRegex(@"^run, exit ([0-9]{1,3})$")]
    private static partial Regex RunWithExit();

    [GeneratedRegex(@"^(\s*)```(.*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^\s*<!-- doc-test: (.*?) -->\s*$")]
    private static partial Regex MarkerLine();
}
