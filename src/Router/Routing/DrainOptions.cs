namespace Router.Routing;

/// <summary>How long what is leaving may finish: requests at shutdown, and work on hosts or listeners that left the registry.</summary>
internal sealed record DrainOptions
{
    /// <summary><c>--drain-timeout</c>.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After SIGTERM, how long the router reports not ready while it still accepts (<c>--shutdown-delay</c>).</summary>
    public TimeSpan ShutdownDelay { get; init; } = TimeSpan.Zero;
}
