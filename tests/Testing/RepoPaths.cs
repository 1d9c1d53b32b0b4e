using System.Reflection;

namespace Router.Testing;

/// <summary>Where the repository and the built executables are, from a test's point of view.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration the tests themselves were built with.</summary>
    public static string Configuration { get; } =
        typeof(RepoPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The built <c>{name}.dll</c> of the project in <c>src/{project}</c>.</summary>
    public static string Executable(string project, string name)
    {
        var path = Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", name + ".dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} is not built; run 'dotnet build Router.sln -c {Configuration}' first", path);
        }

        return path;
    }

    /// <summary>The built <c>{name}.dll</c> of a helper program in <c>tests/{project}</c>.</summary>
    public static string TestExecutable(string project, string name)
    {
        var path = Path.Combine(Root, "tests", project, "bin", Configuration, "net10.0", name + ".dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} is not built; run 'dotnet build Router.sln -c {Configuration}' first", path);
        }

        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Router.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Router.sln not found above {AppContext.BaseDirectory}");
    }
}
