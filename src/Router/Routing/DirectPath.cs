using Microsoft.AspNetCore.Http;

namespace Router.Routing;

/// <summary>
/// The router's own HTTP/1.1 forwarding path as <see cref="ProxyHandler"/> sees it. Defined here and filled
/// by <c>Routing/Direct</c>, so that folder builds on this one and this one never names it.
/// </summary>
internal abstract class DirectPath
{
    /// <summary>Whether this path can take the request; otherwise YARP does.</summary>
    public abstract bool Takes(HttpContext context);

    /// <summary>Forwards the request to <paramref name="destination"/>; a connect failure leaves it for the next host.</summary>
    public abstract ValueTask<AttemptResult> ForwardAsync(HttpContext context, Destination destination, bool stripFirstSegment);
}
