using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Router.Routing;

/// <summary>The client-side HTTP limits and header encoding, the same on the shared port, HTTPS and every host_port HTTP listener.</summary>
internal static class HttpServerLimits
{
    public static void Apply(KestrelServerOptions kestrel, HttpServerOptions options)
    {
        kestrel.AddServerHeader = false;

        // Header bytes pass through as they came, both ways (a UTF-8 "Cookie: user=José", a raw UTF-8
        // Content-Disposition filename): Latin-1 maps each byte to one char and back (RFC 9110 section 5.5).
        // The Connection header's decoder also keeps the names it lists, which Kestrel would lose (ConnectionHeader).
        kestrel.RequestHeaderEncodingSelector = ConnectionHeader.Select;
        kestrel.ResponseHeaderEncodingSelector = static _ => Encoding.Latin1;
        Apply(kestrel.Limits, options);
    }

    public static void Apply(KestrelServerLimits limits, HttpServerOptions options)
    {
        limits.MaxRequestHeadersTotalSize = 64 * 1024;

        // A proxy streams bodies with backpressure, so their size costs it nothing; Kestrel's 30,000,000-byte
        // default would refuse uploads that HAProxy and nginx pass. Null is no limit.
        limits.MaxRequestBodySize = options.MaxRequestBodySize;
        limits.KeepAliveTimeout = options.ClientIdleTimeout;
        limits.RequestHeadersTimeout = options.RequestHeadTimeout;

        // Kestrel counts these per listening port; over the limit a new connection is closed at once.
        // Upgraded ones (WebSockets) leave the first count and enter the second.
        limits.MaxConcurrentConnections = options.MaxConnectionsPerPort;
        limits.MaxConcurrentUpgradedConnections = options.MaxConnectionsPerPort;
    }
}
