using System.Text;

namespace Router.Routing;

/// <summary>
/// The one set of headers that describe a single connection and are forwarded in neither direction, on
/// either path (RFC 9110 section 7.6.1), with the proxy-only ones YARP leaves out too; the headers a
/// Connection header names are added per message (<see cref="ConnectionHeader"/>).
/// </summary>
internal static class HopByHopHeaders
{
    /// <summary>
    /// RFC 9110 section 7.6.1 (Connection, Proxy-Connection, Keep-Alive, TE, Trailer, Transfer-Encoding,
    /// Upgrade), then what is meant for a proxy or one hop only (YARP's exclusion list): both paths drop
    /// exactly these.
    /// </summary>
    public static readonly string[] Names =
    [
        "Connection", "Proxy-Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        "Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization", "Proxy-Features", "Proxy-Instruction",
        "Security-Scheme", "ALPN", "Close", "HTTP2-Settings", "Alt-Svc",
    ];

    /// <summary>Request headers the router writes itself (the X-Forwarded-* set by <see cref="ForwardingPolicy"/>).</summary>
    private static readonly string[] Written = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Host"];

    public static bool Contains(ReadOnlySpan<byte> name)
    {
        foreach (var known in Names)
        {
            if (known.Length == name.Length && Ascii.EqualsIgnoreCase(name, known))
            {
                return true;
            }
        }

        return false;
    }

    public static bool Contains(string name) => IsOneOf(Names, name);

    /// <summary>A request header the router does not copy as it came: hop-by-hop, or one it writes itself.</summary>
    public static bool IsNotCopiedFromRequest(string name) => IsOneOf(Names, name) || IsOneOf(Written, name);

    private static bool IsOneOf(string[] names, string name)
    {
        foreach (var known in names)
        {
            if (string.Equals(known, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
