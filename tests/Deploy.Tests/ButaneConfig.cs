using Router.Testing;
using YamlDotNet.RepresentationModel;

namespace Router.Deploy.Tests;

/// <summary>The repository's Butane config for Flatcar (<c>deploy/flatcar/cluster.bu</c>), parsed.</summary>
internal sealed class ButaneConfig
{
    private ButaneConfig(YamlMappingNode root)
    {
        Root = root;
    }

    public static string Path => System.IO.Path.Combine(RepoPaths.Root, "deploy", "flatcar", "cluster.bu");

    public YamlMappingNode Root { get; }

    /// <summary>The non-member variant (<c>deploy/flatcar/nonmember.bu</c>).</summary>
    public static string NonMemberPath => System.IO.Path.Combine(RepoPaths.Root, "deploy", "flatcar", "nonmember.bu");

    public static ButaneConfig Load() => Load(Path);

    public static ButaneConfig Load(string path) => Parse(System.IO.File.ReadAllText(path));

    public static ButaneConfig Parse(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        Assert.Single(stream.Documents);
        return new ButaneConfig(Assert.IsType<YamlMappingNode>(stream.Documents[0].RootNode));
    }

    /// <summary>The entries of <c>systemd.units</c>.</summary>
    public IReadOnlyList<YamlMappingNode> Units() =>
        Assert.IsType<YamlSequenceNode>(CloudConfig.Node(CloudConfig.Map(Root, "systemd"), "units")).Children
            .Select(n => Assert.IsType<YamlMappingNode>(n)).ToList();

    public YamlMappingNode Unit(string name)
    {
        var unit = Units().FirstOrDefault(u => CloudConfig.Scalar(u, "name") == name);
        Assert.True(unit is not null, $"systemd.units has no '{name}'");
        return unit;
    }

    /// <summary>The <c>contents</c> of a unit.</summary>
    public string UnitContents(string name) => CloudConfig.Scalar(Unit(name), "contents") ?? throw new InvalidOperationException($"{name} has no contents");

    /// <summary>The entries of <c>storage.files</c>.</summary>
    public IReadOnlyList<YamlMappingNode> Files() =>
        Assert.IsType<YamlSequenceNode>(CloudConfig.Node(CloudConfig.Map(Root, "storage"), "files")).Children
            .Select(n => Assert.IsType<YamlMappingNode>(n)).ToList();

    public YamlMappingNode File(string path)
    {
        var file = Files().FirstOrDefault(f => CloudConfig.Scalar(f, "path") == path);
        Assert.True(file is not null, $"storage.files has no '{path}'");
        return file;
    }

    /// <summary>The inline contents of a file.</summary>
    public string FileContents(string path) => CloudConfig.Scalar(CloudConfig.Map(File(path), "contents"), "inline") ?? "";
}
