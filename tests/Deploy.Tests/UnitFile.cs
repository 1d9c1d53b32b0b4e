namespace Router.Deploy.Tests;

/// <summary>
/// A systemd unit file read as systemd reads it: sections, keys in order (a key may repeat),
/// comments dropped, backslash-newline continuations joined. Enough for the facts the tests
/// check; systemd-analyze verify judges the rest.
/// </summary>
internal sealed class UnitFile
{
    private readonly List<(string Section, string Key, string Value)> _entries;

    private UnitFile(List<(string Section, string Key, string Value)> entries)
    {
        _entries = entries;
    }

    public IEnumerable<string> Sections => _entries.Select(e => e.Section).Distinct(StringComparer.Ordinal);

    public static UnitFile Parse(string text)
    {
        var entries = new List<(string, string, string)>();
        var section = "";
        string? pending = null;
        foreach (var raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var line = raw.Trim();
            if (pending is null && (line.Length == 0 || line[0] is '#' or ';'))
            {
                continue;
            }

            if (pending is not null && line.Length > 0 && line[0] is '#' or ';')
            {
                // systemd skips comment lines inside a continued value.
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending = (pending is null ? "" : pending + " ") + line[..^1].Trim();
                continue;
            }

            if (pending is not null)
            {
                line = pending + " " + line;
                pending = null;
            }

            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line[1..^1];
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                entries.Add((section, line[..equals].Trim(), line[(equals + 1)..].Trim()));
            }
        }

        return new UnitFile(entries);
    }

    /// <summary>Every value of <paramref name="key"/> in <paramref name="section"/>, in file order.</summary>
    public IReadOnlyList<string> Values(string section, string key) =>
        _entries.Where(e => e.Section == section && e.Key == key).Select(e => e.Value).ToList();

    /// <summary>The last value of the key (the one systemd uses for single-valued settings), or null.</summary>
    public string? Value(string section, string key)
    {
        var values = Values(section, key);
        return values.Count == 0 ? null : values[^1];
    }

    /// <summary>Every command line of the service, all Exec* keys.</summary>
    public IEnumerable<(string Key, string Command)> Commands() =>
        _entries.Where(e => e.Section == "Service" && e.Key.StartsWith("Exec", StringComparison.Ordinal)).Select(e => (e.Key, e.Value));

    /// <summary>Unit names listed by a dependency key (space separated, several lines allowed).</summary>
    public IReadOnlyList<string> Units(string key) =>
        Values("Unit", key).SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

    /// <summary>The program a command line runs: its first word without systemd's prefixes (-@:+!).</summary>
    public static string Program(string command) => Words(command.TrimStart('-', '@', ':', '+', '!'))[0];

    /// <summary>A command line split into words on whitespace (the units here quote nothing they pass on).</summary>
    public static string[] Words(string command) => command.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
