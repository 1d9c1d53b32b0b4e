using System.Text.Json;

namespace Router.Rollout.Processes;

/// <summary>
/// The process scheduler's unit (<c>unit.json</c>): command lines of the service and its announcer sidekick,
/// with <c>{name}</c>, <c>{instance}</c>, <c>{port}</c> (a free loopback port picked per instance) and
/// <c>{version}</c> replaced, an environment with the same placeholders, and how many instances fit at once
/// (<c>slots</c>, like nodes under one-per-node <c>Conflicts=</c>; 0 = no limit).
/// </summary>
internal sealed record ProcessUnit
{
    public required IReadOnlyList<string> Service { get; init; }

    public required IReadOnlyList<string> Presence { get; init; }

    /// <summary>Null when unit.json has none (or says <c>null</c>).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public int Slots { get; init; }

    public static ProcessUnit Load(string folder)
    {
        var path = Path.Combine(folder, "unit.json");
        var unit = JsonSerializer.Deserialize(File.ReadAllText(path), ProcessJson.Default.ProcessUnit)
            ?? throw new InvalidDataException($"{path}: empty");
        if (unit.Service.Count == 0 || unit.Presence.Count == 0)
        {
            throw new InvalidDataException($"{path}: \"service\" and \"presence\" need a command line each");
        }

        return unit;
    }

    public static string Expand(string text, string name, int instance, int port, string version) => text
        .Replace("{name}", name, StringComparison.Ordinal)
        .Replace("{instance}", instance.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{version}", version, StringComparison.Ordinal);
}
