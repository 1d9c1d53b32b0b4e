namespace Router.Routing;

/// <summary>How a request found its service.</summary>
internal enum MatchKind
{
    None,
    Host,
    Path,
}

/// <summary>The routing decision for one request: the route, how it matched, and the path the backend sees.</summary>
internal readonly record struct RouteMatch(ServiceRoute? Route, MatchKind Kind, int PathPrefixLength)
{
    public static RouteMatch None => default;
}
