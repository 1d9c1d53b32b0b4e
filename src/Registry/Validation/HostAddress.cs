using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Router.Registry.Validation;

/// <summary>Parses the <c>ip:port</c>, <c>[ipv6]:port</c> and <c>hostname:port</c> forms of a host value.</summary>
public static class HostAddress
{
    private const int MaxHostNameLength = 253;

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says why, for an operator.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out string host, out int port, out string error)
    {
        host = "";
        port = 0;
        ReadOnlySpan<char> hostPart;
        ReadOnlySpan<char> portPart;

        if (text.StartsWith("["))
        {
            var close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                error = "an IPv6 address needs the form [address]:port";
                return false;
            }

            hostPart = text[1..close];
            portPart = text[(close + 2)..];
            if (!IPAddress.TryParse(hostPart, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'{hostPart}' is not an IPv6 address";
                return false;
            }

            host = v6.ToString();
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                error = "no port: expected host:port";
                return false;
            }

            hostPart = text[..colon];
            portPart = text[(colon + 1)..];
            if (hostPart.Contains(':'))
            {
                error = "an IPv6 address must be in brackets: [address]:port";
                return false;
            }

            if (!TryParseHost(hostPart, out host, out error))
            {
                return false;
            }
        }

        if (!TryParsePort(portPart, out port))
        {
            error = $"port '{portPart}' is not a number from 1 to 65535";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>A port is 1–65535 in plain decimal digits (no sign, no spaces).</summary>
    public static bool TryParsePort(ReadOnlySpan<char> text, out int port)
    {
        port = 0;
        if (text.IsEmpty || text.Length > 5)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        port = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return port is >= 1 and <= 65535;
    }

    private static bool TryParseHost(ReadOnlySpan<char> text, out string host, out string error)
    {
        host = "";
        if (text.IsEmpty)
        {
            error = "the host is empty";
            return false;
        }

        if (LooksNumeric(text))
        {
            // IPAddress.TryParse takes "10.1" or "167772161" as IPv4; only the dotted quad is meant here.
            if (text.Count('.') != 3 || !IPAddress.TryParse(text, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork)
            {
                error = $"'{text}' is not an IPv4 address";
                return false;
            }

            host = v4.ToString();
            error = "";
            return true;
        }

        if (text.Length > MaxHostNameLength)
        {
            error = "the host name is longer than 253 characters";
            return false;
        }

        foreach (var label in text.ToString().Split('.'))
        {
            if (!ServiceName.IsValid(label))
            {
                error = $"'{text}' is not a host name";
                return false;
            }
        }

        host = text.ToString().ToLowerInvariant();
        error = "";
        return true;
    }

    private static bool LooksNumeric(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c != '.')
            {
                return false;
            }
        }

        return true;
    }
}
