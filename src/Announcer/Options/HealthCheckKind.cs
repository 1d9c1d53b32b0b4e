namespace Router.Announcer.Options;

/// <summary>How the announcer decides that its instance is healthy.</summary>
internal enum HealthCheckKind
{
    /// <summary>No <c>--check</c>: always healthy.</summary>
    None,

    /// <summary><c>--check URL</c>: a GET answered with 2xx or 3xx in time.</summary>
    Http,

    /// <summary><c>--check tcp</c>: a TCP connect to <c>--address</c> in time.</summary>
    Tcp,
}
