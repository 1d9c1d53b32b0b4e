namespace Router.Routing;

/// <summary>
/// The routing rules of docs/routing.md: the first label of the Host header names the service (any domain, any
/// case, port ignored; an IP address names nothing); otherwise the first path segment does.
/// </summary>
internal static class RouteMatcher
{
    public static RouteMatch Match(RouteTable table, ReadOnlySpan<char> host, ReadOnlySpan<char> path)
    {
        var label = HostLabel(host);
        if (!label.IsEmpty && table.TryGet(label, out var byHost))
        {
            return new RouteMatch(byHost, MatchKind.Host, 0);
        }

        var segment = FirstSegment(path);
        if (!segment.IsEmpty && table.TryGet(segment, out var byPath))
        {
            return new RouteMatch(byPath, MatchKind.Path, segment.Length + 1);
        }

        return RouteMatch.None;
    }

    /// <summary>
    /// The first DNS label of a Host header value, or empty for an IP address or an empty host:
    /// <c>web.example.com:8080</c> → <c>web</c>; <c>[::1]:80</c>, <c>10.0.0.5</c> → empty.
    /// </summary>
    public static ReadOnlySpan<char> HostLabel(ReadOnlySpan<char> host)
    {
        if (host.IsEmpty || host[0] == '[')
        {
            return [];
        }

        var colon = host.IndexOf(':');
        if (colon >= 0)
        {
            host = host[..colon];
        }

        host = host.TrimEnd('.');
        if (IsIPv4(host))
        {
            return [];
        }

        var dot = host.IndexOf('.');
        return dot < 0 ? host : host[..dot];
    }

    /// <summary>The first path segment: <c>/web/a</c> → <c>web</c>; <c>/</c> → empty.</summary>
    public static ReadOnlySpan<char> FirstSegment(ReadOnlySpan<char> path)
    {
        if (path.Length < 2 || path[0] != '/')
        {
            return [];
        }

        var rest = path[1..];
        var slash = rest.IndexOf('/');
        return slash < 0 ? rest : rest[..slash];
    }

    private static bool IsIPv4(ReadOnlySpan<char> host)
    {
        if (host.IsEmpty)
        {
            return false;
        }

        foreach (var c in host)
        {
            if (!char.IsAsciiDigit(c) && c != '.')
            {
                return false;
            }
        }

        // All digits and dots: an address (10.0.0.5) or a malformed one; a label never looks like that
        // after a dot, and a lone number like "123" is taken as an address too, as browsers do.
        return true;
    }
}
