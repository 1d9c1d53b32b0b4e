using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>A Dockerfile read as the builder reads it: comments dropped, continuations joined, split into stages.</summary>
internal sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<DockerStage> stages)
    {
        Stages = stages;
    }

    public IReadOnlyList<DockerStage> Stages { get; }

    public DockerStage Build => Stages[0];

    public DockerStage Final => Stages[^1];

    public static string PathOf(string fileName) => Path.Combine(RepoPaths.Root, "docker", fileName);

    public static Dockerfile Load(string fileName) => Parse(File.ReadAllText(PathOf(fileName)));

    public static Dockerfile Parse(string text)
    {
        var stages = new List<DockerStage>();
        string? pending = null;
        foreach (var raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (pending is null && line.Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending = (pending ?? "") + line[..^1].Trim() + " ";
                continue;
            }

            line = (pending ?? "") + line;
            pending = null;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var arguments = space < 0 ? "" : line[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                stages.Add(new DockerStage(UnitFile.Words(arguments)[0], []));
            }
            else if (stages.Count > 0)
            {
                stages[^1].Instructions.Add(new DockerInstruction(keyword, arguments));
            }
        }

        return new Dockerfile(stages);
    }
}

internal sealed record DockerStage(string Image, List<DockerInstruction> Instructions)
{
    public IEnumerable<string> Arguments(string keyword) =>
        Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);

    /// <summary>A RUN's command without its BuildKit flags (--mount=…, --network=…).</summary>
    public IEnumerable<string> Commands() =>
        Arguments("RUN").Select(a => string.Join(' ', UnitFile.Words(a).SkipWhile(w => w.StartsWith("--", StringComparison.Ordinal))));
}

internal sealed record DockerInstruction(string Keyword, string Arguments);
