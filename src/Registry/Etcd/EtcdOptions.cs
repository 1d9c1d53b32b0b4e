namespace Router.Registry.Etcd;

/// <summary>How to reach etcd: endpoints, TLS and user/password. Shared by the router and the announcer.</summary>
public sealed record EtcdOptions
{
    public const string DefaultEndpoint = "http://127.0.0.1:2379";

    /// <summary>One or more client URLs; the first one reachable is used, the others on failure.</summary>
    public IReadOnlyList<Uri> Endpoints { get; init; } = [new Uri(DefaultEndpoint)];

    /// <summary>PEM file of the CA that signed etcd's server certificate (TLS endpoints).</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate, for etcd's <c>--client-cert-auth</c>; needs <see cref="KeyFile"/>.</summary>
    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>etcd user for <c>--auth</c>; the password never comes from the command line.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>Longest wait between reconnect attempts.</summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often the watcher asks etcd for watch progress: each answer confirms the table is current (the
    /// registry age), and a watch that leaves three intervals unanswered is taken as dead and reopened.
    /// </summary>
    public TimeSpan WatchProgressInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Deadline of one unary call (get, put, lease grant).</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Parses a comma-separated endpoint list; every failure is added to <paramref name="errors"/>.</summary>
    public static IReadOnlyList<Uri> ParseEndpoints(string text, string optionName, ICollection<string> errors)
    {
        var endpoints = new List<Uri>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var candidate = part.Contains("://", StringComparison.Ordinal) ? part : "http://" + part;
            if (!Uri.TryCreate(candidate, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.AbsolutePath != "/"
                || !HasExplicitPort(uri, part))
            {
                errors.Add($"{optionName}: '{part}' is not an etcd URL like http://10.0.0.1:2379 (scheme http or https, with a port)");
                continue;
            }

            endpoints.Add(uri);
        }

        if (endpoints.Count == 0 && errors.Count == 0)
        {
            errors.Add($"{optionName}: no etcd endpoint given");
        }

        return endpoints;

        // Uri fills in 80/443 when no port is written; etcd never listens there, so a missing port is a mistake.
        static bool HasExplicitPort(Uri uri, string part) =>
            !uri.IsDefaultPort || part.Contains($":{uri.Port}", StringComparison.Ordinal);
    }
}
