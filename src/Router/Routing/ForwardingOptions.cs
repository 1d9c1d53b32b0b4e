using System.Net;

namespace Router.Routing;

/// <summary>How requests are forwarded: the settings <see cref="ProxyHandler"/> and the direct path read.</summary>
internal sealed record ForwardingOptions
{
    /// <summary>Longest a backend may stay silent within one request (<c>--backend-timeout</c>).</summary>
    public TimeSpan BackendTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Requests without a body take the router's own HTTP/1.1 path (true), or all go through YARP.</summary>
    public bool DirectForwarding { get; init; } = true;

    /// <summary>With the direct path: plain GET and HEAD requests on the shared port are taken below Kestrel's HTTP layer (off while the access log is on).</summary>
    public bool ConnectionLevel { get; init; } = true;

    /// <summary>The HTTPS listener, where plain requests to https services are redirected; null without <c>--https</c>.</summary>
    public IPEndPoint? Https { get; init; }
}
