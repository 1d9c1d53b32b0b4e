using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>The unit files in the repository's <c>units/</c>, as systemd would be given them.</summary>
internal static class UnitsFolder
{
    public static string Path => System.IO.Path.Combine(RepoPaths.Root, "units");

    /// <summary>Every unit file, by file name.</summary>
    public static IReadOnlyDictionary<string, string> Files() =>
        Directory.EnumerateFiles(Path)
            .Where(f => IsUnit(System.IO.Path.GetFileName(f)))
            .ToDictionary(f => System.IO.Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal);

    /// <summary>The name to verify a file under: a template is verified as its instance 1.</summary>
    public static string VerifiableName(string fileName) =>
        fileName.Contains("@.", StringComparison.Ordinal) ? fileName.Replace("@.", "@1.", StringComparison.Ordinal) : fileName;

    public static string Read(string fileName) => File.ReadAllText(System.IO.Path.Combine(Path, fileName));

    private static bool IsUnit(string name) =>
        name.EndsWith(".service", StringComparison.Ordinal) || name.EndsWith(".socket", StringComparison.Ordinal)
        || name.EndsWith(".timer", StringComparison.Ordinal) || name.EndsWith(".target", StringComparison.Ordinal)
        || name.EndsWith(".path", StringComparison.Ordinal) || name.EndsWith(".mount", StringComparison.Ordinal);
}
