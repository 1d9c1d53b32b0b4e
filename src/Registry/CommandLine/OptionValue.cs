namespace Router.Registry.CommandLine;

/// <summary>One option's text, and the label errors start with: the option and, when not the command line, its source.</summary>
/// <param name="Text">As given on the command line; from the environment or appsettings.json trimmed.</param>
/// <param name="Label"><c>--ttl</c>, <c>--ttl (from ANNOUNCER_TTL)</c> or <c>--ttl (from Router:Ttl in appsettings.json)</c>.</param>
public sealed record OptionValue(string Text, string Label);
