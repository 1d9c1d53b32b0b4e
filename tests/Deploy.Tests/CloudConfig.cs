using Router.Testing;
using YamlDotNet.RepresentationModel;

namespace Router.Deploy.Tests;

/// <summary>The repository's <c>cloud-config.yaml</c>, parsed, with the parts the tests look at.</summary>
internal sealed class CloudConfig
{
    private CloudConfig(string text, YamlMappingNode root)
    {
        Text = text;
        Root = root;
    }

    public static string Path => System.IO.Path.Combine(RepoPaths.Root, "cloud-config.yaml");

    public string Text { get; }

    public YamlMappingNode Root { get; }

    /// <summary>The non-member variant (<c>deploy/cloud-config-nonmember.yaml</c>).</summary>
    public static string NonMemberPath => System.IO.Path.Combine(RepoPaths.Root, "deploy", "cloud-config-nonmember.yaml");

    public static CloudConfig Load() => Load(Path);

    public static CloudConfig Load(string path) => Parse(File.ReadAllText(path));

    public static CloudConfig Parse(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        Assert.Single(stream.Documents);
        var root = Assert.IsType<YamlMappingNode>(stream.Documents[0].RootNode);
        return new CloudConfig(text, root);
    }

    /// <summary>The entries of <c>coreos.units</c>.</summary>
    public IReadOnlyList<YamlMappingNode> Units() =>
        Assert.IsType<YamlSequenceNode>(Node(Map(Root, "coreos"), "units")).Children.Select(n => Assert.IsType<YamlMappingNode>(n)).ToList();

    public YamlMappingNode Unit(string name)
    {
        var unit = Units().FirstOrDefault(u => Scalar(u, "name") == name);
        Assert.True(unit is not null, $"coreos.units has no '{name}'");
        return unit;
    }

    /// <summary>The content of a <c>write_files</c> entry.</summary>
    public string WrittenFile(string path)
    {
        var files = Assert.IsType<YamlSequenceNode>(Node(Root, "write_files")).Children.Select(n => Assert.IsType<YamlMappingNode>(n));
        var file = files.FirstOrDefault(f => Scalar(f, "path") == path);
        Assert.True(file is not null, $"write_files has no '{path}'");
        return Scalar(file, "content") ?? "";
    }

    /// <summary>The paths of every <c>write_files</c> entry.</summary>
    public IEnumerable<string> WrittenPaths() =>
        Assert.IsType<YamlSequenceNode>(Node(Root, "write_files")).Children
            .Select(n => Scalar(Assert.IsType<YamlMappingNode>(n), "path") ?? "");

    /// <summary>A drop-in of a unit: (name, content) pairs.</summary>
    public static IReadOnlyList<(string Name, string Content)> DropIns(YamlMappingNode unit) =>
        unit.Children.TryGetValue(new YamlScalarNode("drop-ins"), out var node)
            ? Assert.IsType<YamlSequenceNode>(node).Children
                .Select(n => Assert.IsType<YamlMappingNode>(n))
                .Select(d => (Scalar(d, "name") ?? "", Scalar(d, "content") ?? ""))
                .ToList()
            : [];

    public static YamlNode Node(YamlMappingNode node, string key)
    {
        Assert.True(node.Children.TryGetValue(new YamlScalarNode(key), out var child), $"'{key}' is missing");
        return child;
    }

    public static YamlMappingNode Map(YamlMappingNode node, string key) =>
        Assert.IsType<YamlMappingNode>(Node(node, key));

    public static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? (child as YamlScalarNode)?.Value : null;
}
