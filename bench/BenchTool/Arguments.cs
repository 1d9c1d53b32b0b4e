namespace BenchTool;

/// <summary>Options as <c>--name value</c> pairs, and whatever follows <c>--</c> as a command line.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values;

    private Arguments(Dictionary<string, string> values, IReadOnlyList<string> rest)
    {
        _values = values;
        Rest = rest;
    }

    public IReadOnlyList<string> Rest { get; }

    public static Arguments Parse(ReadOnlySpan<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--")
            {
                return new Arguments(values, args[(i + 1)..].ToArray());
            }

            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected --name value at '{args[i]}'");
            }

            values[args[i][2..]] = args[++i];
        }

        return new Arguments(values, []);
    }

    public string Get(string name, string? fallback = null) =>
        _values.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"--{name} is required");

    public string? Find(string name) => _values.GetValueOrDefault(name);

    public int GetInt(string name, int fallback) =>
        _values.TryGetValue(name, out var value) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : fallback;
}
