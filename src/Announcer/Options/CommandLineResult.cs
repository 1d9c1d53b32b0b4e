namespace Router.Announcer.Options;

/// <summary>The outcome of reading the command line: options, or the problems found, or a request for help.</summary>
internal sealed record CommandLineResult
{
    public AnnouncerOptions? Options { get; init; }

    /// <summary>One line per problem, each naming its option; empty when <see cref="Options"/> is set.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    public bool ShowHelp { get; init; }
}
