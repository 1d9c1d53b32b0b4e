namespace Router.Routing;

/// <summary>The client-side HTTP limits every HTTP listener gets (<see cref="HttpServerLimits"/>).</summary>
internal sealed record HttpServerOptions
{
    /// <summary>Largest request body accepted, in bytes; null: no limit.</summary>
    public long? MaxRequestBodySize { get; init; }

    public TimeSpan ClientIdleTimeout { get; init; } = TimeSpan.FromSeconds(75);

    public TimeSpan RequestHeadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Open connections per listening port; null: no limit.</summary>
    public int? MaxConnectionsPerPort { get; init; }
}
