using System.Text;

namespace Router.Routing.Direct;

/// <summary>
/// Headers that describe one connection and are not forwarded in either direction (RFC 9110 section 7.6.1),
/// with the proxy-only ones YARP leaves out too. The forwarded-for headers are the router's to set.
/// </summary>
internal static class HopByHop
{
    private static readonly string[] Names =
    [
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Proxy-Authenticate", "Proxy-Authorization", "Alt-Svc", "HTTP2-Settings", "Close",
    ];

    /// <summary>Request headers the router writes itself.</summary>
    private static readonly string[] Written = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Host"];

    public static bool IsHopByHop(ReadOnlySpan<byte> name)
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
