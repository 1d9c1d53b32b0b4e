namespace Router.Registry.CommandLine;

/// <summary>
/// What one command line accepts: the options that take a value, the switches, how many bare arguments,
/// and where else an option may come from (<c>PREFIX_NAME</c> in the environment, <c>Section:Name</c> in
/// appsettings.json). <see cref="OptionReader"/> reads every executable's command line by such a table.
/// </summary>
public sealed record OptionTable
{
    /// <summary>The etcd option family, read alike by the router, its subcommands and the announcer.</summary>
    public static readonly IReadOnlyList<string> EtcdFamily = ["etcd", "prefix", "etcd-ca", "etcd-cert", "etcd-key", "etcd-user", "etcd-password-file"];

    /// <summary>Options followed by a value: <c>--name VALUE</c> or <c>--name=VALUE</c>.</summary>
    public required IReadOnlyList<string> Values { get; init; }

    /// <summary>Options that are true when given bare; <c>--name=false</c> (or 0, no, off) says false.</summary>
    public IReadOnlyList<string> Switches { get; init; } = [];

    /// <summary>How many arguments without <c>--</c> are taken (a subcommand's NAME); the rest are errors.</summary>
    public int Positionals { get; init; }

    /// <summary>Prefix of the environment variables, e.g. <c>ROUTER_</c>; null reads none.</summary>
    public string? EnvironmentPrefix { get; init; }

    /// <summary>The options read from the environment and appsettings.json; null means all of them.</summary>
    public IReadOnlyList<string>? FromEnvironment { get; init; }

    /// <summary>The appsettings.json section, e.g. <c>Router</c>; null reads none.</summary>
    public string? SettingsSection { get; init; }

    /// <summary>Where an error sends the reader, e.g. <c>--help</c> or <c>router rollout --help</c>.</summary>
    public string HelpCommand { get; init; } = "--help";

    /// <summary>Every option's name (without <c>--</c>).</summary>
    public IEnumerable<string> Names => Values.Concat(Switches);

    /// <summary><c>--host-port</c> → <c>ROUTER_HOST_PORT</c> (with prefix <c>ROUTER_</c>).</summary>
    public string EnvironmentName(string option) =>
        EnvironmentPrefix + option.ToUpperInvariant().Replace('-', '_');

    /// <summary><c>dns-upstream</c> → <c>DnsUpstream</c>: each word capitalised, <c>-</c> dropped.</summary>
    public static string SettingsKey(string option) =>
        string.Concat(option.Split('-').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}
