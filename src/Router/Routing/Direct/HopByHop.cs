using System.Text;

namespace Router.Routing.Direct;

/// <summary>
/// Headers that describe one connection and are not forwarded in either direction (RFC 9110 section 7.6.1),
/// with the proxy-only ones YARP leaves out too. The forwarded-for headers are the router's to set.
/// </summary>
internal static class HopByHop
{
    private static readonly byte[][] Names =
    [
        "Connection"u8.ToArray(), "Keep-Alive"u8.ToArray(), "Proxy-Connection"u8.ToArray(), "Transfer-Encoding"u8.ToArray(),
        "TE"u8.ToArray(), "Trailer"u8.ToArray(), "Upgrade"u8.ToArray(), "Proxy-Authenticate"u8.ToArray(),
        "Proxy-Authorization"u8.ToArray(), "Alt-Svc"u8.ToArray(), "HTTP2-Settings"u8.ToArray(), "Close"u8.ToArray(),
    ];

    private static readonly string[] RequestNames =
    [
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Proxy-Authenticate", "Proxy-Authorization", "Alt-Svc", "HTTP2-Settings", "Close",
        "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Host",
    ];

    public static bool IsHopByHop(ReadOnlySpan<byte> name)
    {
        foreach (var known in Names)
        {
            if (known.Length == name.Length && Ascii.EqualsIgnoreCase(known, name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A request header the router does not copy as it came: hop-by-hop, or one it writes itself.</summary>
    public static bool IsNotCopiedFromRequest(string name)
    {
        foreach (var known in RequestNames)
        {
            if (known.Length == name.Length && string.Equals(known, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
