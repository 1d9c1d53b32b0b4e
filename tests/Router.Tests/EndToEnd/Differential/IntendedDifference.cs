namespace Router.Tests.Differential;

/// <summary>
/// A way the router forwards differently from HAProxy on purpose, with the aspects of an exchange it may
/// change. Each one is a row of the table in docs/routing.md ("Forwarding policy and how we differ from
/// HAProxy"), found by its id; the suite fails on a difference no case declares, on a declared one that
/// did not show, and on an id the document does not list.
/// </summary>
public sealed record IntendedDifference(string Id, params Aspect[] Aspects)
{
    /// <summary>Headers named in a Connection header are removed both ways (RFC 9110 §7.6.1); HAProxy 2.6 passes them on.</summary>
    public static readonly IntendedDifference ConnectionNamed = new("connection-named", Aspect.BackendHeaders, Aspect.ClientHeaders);

    /// <summary>The whole hop-by-hop set is removed both ways; HAProxy 2.6 passes Keep-Alive, TE, Trailer, Proxy-* and Alt-Svc on.</summary>
    public static readonly IntendedDifference HopByHop = new("hop-by-hop", Aspect.BackendHeaders, Aspect.ClientHeaders);

    /// <summary>Dot segments are resolved before routing, and the backend gets the path the route was chosen by.</summary>
    public static readonly IntendedDifference DotSegments = new("dot-segments", Aspect.BackendRequestLine);

    /// <summary>An absolute-form target goes to the backend in origin form (RFC 9112 §3.2.2: a server must accept both; a proxy sends origin form to an origin server).</summary>
    public static readonly IntendedDifference AbsoluteForm = new("absolute-form", Aspect.BackendRequestLine);

    /// <summary>Interim responses other than 100 Continue are not passed to the client (103 Early Hints is dropped).</summary>
    public static readonly IntendedDifference InterimDropped = new("interim-dropped", Aspect.ClientInterim);

    /// <summary>A request header folded over lines (obs-fold) is refused with 400 (Kestrel; RFC 9112 §5.2 allows it), where HAProxy joins the lines.</summary>
    public static readonly IntendedDifference ObsFoldRequest = new("obs-fold-request", Aspect.BackendCount, Aspect.BackendRequestLine, Aspect.BackendHeaders, Aspect.ClientStatus, Aspect.ClientHeaders, Aspect.ClientBody);

    /// <summary>A request with the same Host line twice is refused with 400 (Kestrel; RFC 9112 §3.2 requires it), where HAProxy drops the copy and forwards.</summary>
    public static readonly IntendedDifference RepeatedHost = new("repeated-host", Aspect.BackendCount, Aspect.BackendRequestLine, Aspect.BackendHeaders, Aspect.ClientStatus, Aspect.ClientHeaders, Aspect.ClientBody);

    /// <summary>Through YARP (requests with a body, or --http-forwarder yarp), <c>OPTIONS *</c> goes out as <c>OPTIONS /</c>: .NET's HttpClient has no asterisk form.</summary>
    public static readonly IntendedDifference YarpOptionsStar = new("yarp-options-star", Aspect.BackendRequestLine);

    /// <summary>Through YARP, a response repeating an equal Content-Length (<c>5, 5</c> or two lines) is refused with 502: .NET's HttpClient does not take the list as a length and Kestrel refuses to copy it.</summary>
    public static readonly IntendedDifference YarpRepeatedContentLength = new("yarp-repeated-content-length", Aspect.ClientStatus, Aspect.ClientHeaders, Aspect.ClientBody);

    /// <summary>Every id, for the check against docs/routing.md.</summary>
    public static IReadOnlyList<IntendedDifference> All { get; } =
        [ConnectionNamed, HopByHop, DotSegments, AbsoluteForm, InterimDropped, ObsFoldRequest, RepeatedHost, YarpOptionsStar, YarpRepeatedContentLength];

    public override string ToString() => Id;
}
