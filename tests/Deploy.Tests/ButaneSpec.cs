using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Router.Deploy.Tests;

/// <summary>
/// The part of Butane's <c>flatcar</c> variant, spec 1.0.0 (Ignition 3.3.0), that a config can use, as key
/// sets: the Butane binary is not packaged for Debian, so the shipped config is checked against the
/// published spec here instead. Keys from Flatcar's "Butane Configuration Specification" page (spec 1.0.0)
/// and Butane's own schema for that spec (coreos/butane, base v0_5, which flatcar 1.0.0 builds on).
/// Butane refuses an unknown key (<c>--strict</c> turns its warnings into errors too), so an unknown key
/// here is an error. Sections whose keys are not written down here (disks, RAID, LUKS, filesystems,
/// trees, Ignition's own settings) are errors too, so a config that starts to use one gets its keys
/// written down before it passes.
/// </summary>
internal static partial class ButaneSpec
{
    public const string Variant = "flatcar";

    public const string Version = "1.0.0";

    private static readonly string[] RootKeys = ["variant", "version", "ignition", "kernel_arguments", "passwd", "storage", "systemd"];

    private static readonly string[] StorageKeys = ["directories", "disks", "files", "filesystems", "links", "luks", "raid", "trees"];

    private static readonly string[] FileKeys = ["path", "overwrite", "contents", "append", "mode", "user", "group"];

    private static readonly string[] DirectoryKeys = ["path", "overwrite", "mode", "user", "group"];

    private static readonly string[] LinkKeys = ["path", "overwrite", "user", "group", "target", "hard"];

    private static readonly string[] ResourceKeys = ["source", "inline", "local", "compression", "http_headers", "verification"];

    private static readonly string[] NodeOwnerKeys = ["id", "name"];

    private static readonly string[] VerificationKeys = ["hash"];

    private static readonly string[] HeaderKeys = ["name", "value"];

    private static readonly string[] SystemdKeys = ["units"];

    private static readonly string[] UnitKeys = ["name", "enabled", "mask", "contents", "contents_local", "dropins"];

    private static readonly string[] DropinKeys = ["name", "contents", "contents_local"];

    private static readonly string[] PasswdKeys = ["users", "groups"];

    private static readonly string[] UserKeys =
    [
        "name", "password_hash", "ssh_authorized_keys", "ssh_authorized_keys_local", "uid", "gecos", "home_dir",
        "no_create_home", "primary_group", "groups", "no_user_group", "no_log_init", "shell", "should_exist", "system",
    ];

    private static readonly string[] GroupKeys = ["name", "gid", "password_hash", "should_exist", "system"];

    private static readonly string[] KernelArgumentKeys = ["should_exist", "should_not_exist"];

    /// <summary>The sections whose keys this class does not hold: using one fails until they are added.</summary>
    private static readonly string[] Unmodelled = ["ignition", "storage.disks", "storage.filesystems", "storage.luks", "storage.raid", "storage.trees"];

    /// <summary>Every way the document breaks the spec, each with its path; empty when it conforms.</summary>
    public static IReadOnlyList<string> Validate(YamlMappingNode root)
    {
        var errors = new List<string>();
        Keys(root, "", RootKeys, errors);
        if (Text(root, "variant") != Variant)
        {
            errors.Add($"variant: '{Text(root, "variant")}', must be '{Variant}'");
        }

        if (Text(root, "version") != Version)
        {
            errors.Add($"version: '{Text(root, "version")}', this check knows spec {Version} only");
        }

        foreach (var path in Unmodelled)
        {
            if (Find(root, path) is not null)
            {
                errors.Add($"{path}: used, but its keys are not written into ButaneSpec; add them from the spec first");
            }
        }

        if (Child(root, "storage") is { } storage && Map(storage, "storage", errors) is { } storageMap)
        {
            Keys(storageMap, "storage", StorageKeys, errors);
            var paths = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (file, at) in Items(storageMap, "files", "storage.files", errors))
            {
                Keys(file, at, FileKeys, errors);
                Node(file, at, paths, errors);
                Mode(file, at, errors);
                if (Child(file, "contents") is YamlMappingNode contents)
                {
                    Resource(contents, at + ".contents", errors);
                }

                foreach (var (append, appendAt) in Items(file, "append", at + ".append", errors))
                {
                    Resource(append, appendAt, errors);
                }
            }

            foreach (var (directory, at) in Items(storageMap, "directories", "storage.directories", errors))
            {
                Keys(directory, at, DirectoryKeys, errors);
                Node(directory, at, paths, errors);
                Mode(directory, at, errors);
            }

            foreach (var (link, at) in Items(storageMap, "links", "storage.links", errors))
            {
                Keys(link, at, LinkKeys, errors);
                Node(link, at, paths, errors);
            }
        }

        if (Child(root, "systemd") is { } systemd && Map(systemd, "systemd", errors) is { } systemdMap)
        {
            Keys(systemdMap, "systemd", SystemdKeys, errors);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (unit, at) in Items(systemdMap, "units", "systemd.units", errors))
            {
                Keys(unit, at, UnitKeys, errors);
                var name = Text(unit, "name");
                if (name is null || !UnitName().IsMatch(name))
                {
                    errors.Add($"{at}.name: '{name}' is no unit name (name.service, name@.service, …)");
                }
                else if (!names.Add(name))
                {
                    errors.Add($"{at}.name: '{name}' appears twice");
                }

                Bool(unit, "enabled", at, errors);
                Bool(unit, "mask", at, errors);
                if (Child(unit, "contents") is not null && Child(unit, "contents_local") is not null)
                {
                    errors.Add($"{at}: contents and contents_local exclude each other");
                }

                foreach (var (dropin, dropinAt) in Items(unit, "dropins", at + ".dropins", errors))
                {
                    Keys(dropin, dropinAt, DropinKeys, errors);
                    if (Text(dropin, "name") is not { } dropinName || !dropinName.EndsWith(".conf", StringComparison.Ordinal))
                    {
                        errors.Add($"{dropinAt}.name: a drop-in's name ends in .conf");
                    }
                }
            }
        }

        if (Child(root, "passwd") is { } passwd && Map(passwd, "passwd", errors) is { } passwdMap)
        {
            Keys(passwdMap, "passwd", PasswdKeys, errors);
            foreach (var (user, at) in Items(passwdMap, "users", "passwd.users", errors))
            {
                Keys(user, at, UserKeys, errors);
            }

            foreach (var (group, at) in Items(passwdMap, "groups", "passwd.groups", errors))
            {
                Keys(group, at, GroupKeys, errors);
            }
        }

        if (Child(root, "kernel_arguments") is { } kernel && Map(kernel, "kernel_arguments", errors) is { } kernelMap)
        {
            Keys(kernelMap, "kernel_arguments", KernelArgumentKeys, errors);
        }

        return errors;
    }

    public static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    public static string? Text(YamlMappingNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;

    private static YamlNode? Find(YamlMappingNode root, string path)
    {
        YamlNode? node = root;
        foreach (var part in path.Split('.'))
        {
            node = node is YamlMappingNode map ? Child(map, part) : null;
        }

        return node;
    }

    private static void Keys(YamlMappingNode node, string at, string[] known, List<string> errors)
    {
        foreach (var key in node.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? key.ToString();
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                errors.Add($"{(at.Length == 0 ? "" : at + ".")}{name}: unknown key in spec {Version} (known: {string.Join(", ", known)})");
            }
        }
    }

    private static YamlMappingNode? Map(YamlNode node, string at, List<string> errors)
    {
        if (node is YamlMappingNode map)
        {
            return map;
        }

        errors.Add($"{at}: must be a mapping");
        return null;
    }

    private static IEnumerable<(YamlMappingNode Item, string At)> Items(YamlMappingNode parent, string key, string at, List<string> errors)
    {
        var node = Child(parent, key);
        if (node is null)
        {
            yield break;
        }

        if (node is not YamlSequenceNode list)
        {
            errors.Add($"{at}: must be a list");
            yield break;
        }

        for (var i = 0; i < list.Children.Count; i++)
        {
            if (list.Children[i] is YamlMappingNode item)
            {
                yield return (item, $"{at}[{i}]");
            }
            else
            {
                errors.Add($"{at}[{i}]: must be a mapping");
            }
        }
    }

    /// <summary>A file, directory or link: an absolute path, each path once, owners given by id or name.</summary>
    private static void Node(YamlMappingNode node, string at, HashSet<string> paths, List<string> errors)
    {
        var path = Text(node, "path");
        if (path is null || !path.StartsWith('/'))
        {
            errors.Add($"{at}.path: '{path}' must be an absolute path");
        }
        else if (!paths.Add(path))
        {
            errors.Add($"{at}.path: '{path}' appears twice");
        }

        foreach (var owner in new[] { "user", "group" })
        {
            if (Child(node, owner) is { } value)
            {
                if (Map(value, $"{at}.{owner}", errors) is { } map)
                {
                    Keys(map, $"{at}.{owner}", NodeOwnerKeys, errors);
                }
            }
        }

        Bool(node, "overwrite", at, errors);
    }

    /// <summary>
    /// Butane reads <c>mode</c> as a YAML integer, where a leading 0 makes it octal (0644); written as
    /// 644 it would be decimal 644, mode 01204. So a mode here must be written as 0 and three octal digits.
    /// </summary>
    private static void Mode(YamlMappingNode node, string at, List<string> errors)
    {
        if (Child(node, "mode") is { } mode && (mode is not YamlScalarNode scalar || scalar.Style is not YamlDotNet.Core.ScalarStyle.Plain || !OctalMode().IsMatch(scalar.Value ?? "")))
        {
            errors.Add($"{at}.mode: '{mode}' must be an unquoted octal number such as 0644");
        }
    }

    private static void Resource(YamlMappingNode resource, string at, List<string> errors)
    {
        Keys(resource, at, ResourceKeys, errors);
        var sources = new[] { "source", "inline", "local" }.Where(k => Child(resource, k) is not null).ToList();
        if (sources.Count > 1)
        {
            errors.Add($"{at}: {string.Join(" and ", sources)} exclude each other");
        }

        if (Child(resource, "verification") is { } verification && Map(verification, at + ".verification", errors) is { } map)
        {
            Keys(map, at + ".verification", VerificationKeys, errors);
        }

        foreach (var (header, headerAt) in Items(resource, "http_headers", at + ".http_headers", errors))
        {
            Keys(header, headerAt, HeaderKeys, errors);
        }
    }

    private static void Bool(YamlMappingNode node, string key, string at, List<string> errors)
    {
        if (Child(node, key) is { } value && (value is not YamlScalarNode scalar || scalar.Value is not ("true" or "false")))
        {
            errors.Add($"{at}.{key}: '{value}' must be true or false");
        }
    }

    [GeneratedRegex("^0[0-7]{3,4}$")]
    private static partial Regex OctalMode();

    [GeneratedRegex(@"^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.(service|socket|timer|target|path|mount|automount|swap|slice)$")]
    private static partial Regex UnitName();
}
