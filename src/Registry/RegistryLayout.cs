namespace Router.Registry;

/// <summary>
/// The etcd key layout, in one place: <c>{prefix}/{name}/scheme</c>, <c>{prefix}/{name}/hosts/{id}</c>,
/// <c>{prefix}/{name}/host_port</c>, <c>{prefix}/{name}/private</c>, <c>{prefix}/{name}/strip_path</c>.
/// </summary>
public sealed class RegistryLayout
{
    public const string DefaultPrefix = "/services";
    public const string SchemeKey = "scheme";
    public const string HostsFolder = "hosts";
    public const string HostPortKey = "host_port";
    public const string PrivateKey = "private";
    public const string StripPathKey = "strip_path";

    public RegistryLayout(string prefix = DefaultPrefix)
    {
        if (!TryNormalizePrefix(prefix, out var normalized, out var error))
        {
            throw new ArgumentException($"the prefix '{prefix}' {error}", nameof(prefix));
        }

        Prefix = normalized;
        WatchPrefix = normalized + "/";
    }

    /// <summary>
    /// The one prefix rule, for the router and the announcer alike (both command lines call it): a folder
    /// path that starts with '/', without empty segments, spaces or control characters; surrounding spaces
    /// and trailing slashes are dropped (<c>/services/</c> is <c>/services</c>).
    /// </summary>
    /// <param name="error">Why the text is refused, for an operator: "must …".</param>
    public static bool TryNormalizePrefix(string text, out string prefix, out string error)
    {
        prefix = text.Trim().TrimEnd('/');
        error = prefix.Length == 0 || prefix[0] != '/' ? "must start with '/' and name a folder, like /services"
            : prefix.Contains("//", StringComparison.Ordinal) ? "must not hold an empty segment ('//')"
            : prefix.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? "must not hold spaces or control characters"
            : "";
        if (error.Length > 0)
        {
            prefix = "";
            return false;
        }

        return true;
    }

    /// <summary>
    /// Ports no service may take as its host_port, because the router itself listens there (port → the option
    /// that holds it, e.g. <c>--http</c>). Such a claim is a problem and is left out of
    /// <see cref="Model.RegistrySnapshot.HostPorts"/>, so nothing (listeners, SRV records) advertises it.
    /// </summary>
    public IReadOnlyDictionary<int, string> ReservedPorts { get; init; } = new Dictionary<int, string>();

    /// <summary>The prefix without a trailing slash, e.g. <c>/services</c>.</summary>
    public string Prefix { get; }

    /// <summary>The prefix with its trailing slash: the range the router reads and watches.</summary>
    public string WatchPrefix { get; }

    public string ServiceFolder(string name) => $"{WatchPrefix}{name}/";

    public string Scheme(string name) => $"{WatchPrefix}{name}/{SchemeKey}";

    public string Host(string name, string id) => $"{WatchPrefix}{name}/{HostsFolder}/{id}";

    public string HostPort(string name) => $"{WatchPrefix}{name}/{HostPortKey}";

    public string Private(string name) => $"{WatchPrefix}{name}/{PrivateKey}";

    public string StripPath(string name) => $"{WatchPrefix}{name}/{StripPathKey}";

    /// <summary>
    /// Splits a key under the prefix into its service segment and the rest (<c>scheme</c>, <c>hosts/3</c>, …).
    /// Keys outside the prefix, or naming no service, return false.
    /// </summary>
    public bool TrySplit(string key, out string service, out string rest)
    {
        service = "";
        rest = "";
        if (!key.StartsWith(WatchPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var tail = key.AsSpan(WatchPrefix.Length);
        var slash = tail.IndexOf('/');
        if (slash <= 0)
        {
            // "{prefix}/{name}" itself (a v2-style folder marker) carries nothing.
            return false;
        }

        service = tail[..slash].ToString();
        rest = tail[(slash + 1)..].ToString();
        return rest.Length > 0;
    }
}
