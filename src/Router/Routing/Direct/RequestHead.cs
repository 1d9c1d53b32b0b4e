using System.Buffers;
using System.Text;

namespace Router.Routing.Direct;

/// <summary>What <see cref="RequestHead.Parse"/> made of the bytes read so far.</summary>
internal enum HeadVerdict
{
    /// <summary>A valid start of a plain head, shorter than the limit: wait for more bytes.</summary>
    Incomplete,

    /// <summary>A whole plain head, described by the <see cref="PlainHead"/>.</summary>
    Plain,

    /// <summary>Anything else, as soon as the bytes show it: Kestrel takes the connection.</summary>
    NotPlain,
}

/// <summary>
/// A plain request head (see <see cref="RequestHead"/>), as offsets into the buffer given to
/// <see cref="RequestHead.Parse"/>.
/// </summary>
/// <param name="Length">Bytes of the whole head, request line through the empty line's CRLF.</param>
/// <param name="IsHead">The method is HEAD (else GET).</param>
/// <param name="TargetStart">Offset of the request-target.</param>
/// <param name="TargetLength">Length of the request-target.</param>
/// <param name="PathLength">Length of the target's path: up to the first '?', or the whole target.</param>
/// <param name="HostStart">Offset of the Host header's value, OWS trimmed.</param>
/// <param name="HostLength">Length of the Host header's value, OWS trimmed.</param>
/// <param name="HeadersStart">Offset of the first header line (just after the request line's CRLF).</param>
/// <param name="Close">A "Connection: close" header was present.</param>
internal readonly record struct PlainHead(
    int Length,
    bool IsHead,
    int TargetStart,
    int TargetLength,
    int PathLength,
    int HostStart,
    int HostLength,
    int HeadersStart,
    bool Close);

/// <summary>
/// A strict reader of plain HTTP/1.1 request heads for the connection-level fast path: a bodiless GET or
/// HEAD whose framing, target and Host nobody can read two ways. Only heads that are a narrow subset of
/// RFC 9112 and that Kestrel (as the router configures it) reads the same are Plain; everything else,
/// including every request-smuggling trick, is NotPlain and goes to Kestrel, which has the full parser.
/// Being strict costs only a detour through Kestrel, being loose costs a desync: when in doubt, NotPlain.
/// </summary>
internal static class RequestHead
{
    /// <summary>Kestrel's MaxRequestLineSize (its default, which the router keeps): the line with its CRLF must fit.</summary>
    private const int MaxRequestLineLength = 8 * 1024;

    /// <summary>
    /// The header lines and the empty line together; Kestrel allows MaxRequestHeadersTotalSize (64 KiB, set in
    /// <see cref="HttpServerLimits"/>) plus the final CRLF, so this is at or under its limit.
    /// </summary>
    private const int MaxHeaderBytes = 64 * 1024;

    /// <summary>Kestrel's MaxRequestHeaderCount (its default, which the router keeps).</summary>
    private const int MaxHeaderCount = 100;

    /// <summary>Length of "X-Forwarded-", the prefix of the headers the router writes itself.</summary>
    private const int ForwardedPrefixLength = 12;

    // pchar without pct-encoded (RFC 3986 section 3.3): unreserved / sub-delims / ":" / "@", and "/".
    private static readonly SearchValues<byte> PathChars = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/"u8);

    // query = *( pchar / "/" / "?" ) (RFC 3986 section 3.4); '%' is checked on its own.
    private static readonly SearchValues<byte> QueryChars = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?"u8);

    // tchar (RFC 9110 section 5.6.2).
    private static readonly SearchValues<byte> TokenChars = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    // field-content: VCHAR / obs-text, with SP and HTAB inside (RFC 9110 section 5.5); no other control byte.
    private static readonly SearchValues<byte> ValueChars = SearchValues.Create(FieldValueBytes());

    // A reg-name without percent-encoding or sub-delims (RFC 3986 section 3.2.2): what a DNS name or IPv4 is made of.
    private static readonly SearchValues<byte> HostChars = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_"u8);

    /// <summary>
    /// Headers that take a head off the fast path, lower case: framing and protocol switches (Content-Length,
    /// Transfer-Encoding, Upgrade, Expect, TE, Trailer), the hop-by-hop set but Connection (checked on its own),
    /// and what the router writes itself or a backend might take for client facts (Forwarded, X-Content-Length).
    /// </summary>
    private static readonly byte[][] NotPlainNames = BuildNotPlainNames();

    /// <summary>Bit n is set when a name of <see cref="NotPlainNames"/> is n bytes long: most names skip the list.</summary>
    private static readonly ulong NotPlainLengths = LengthsOf(NotPlainNames);

    /// <summary>
    /// Reads a request head from the start of <paramref name="buffer"/>. A head not complete within
    /// <paramref name="maxLength"/> bytes is NotPlain; a valid prefix of a plain head is Incomplete. Rereads
    /// from the start on each call and allocates nothing.
    /// </summary>
    public static HeadVerdict Parse(ReadOnlySpan<byte> buffer, int maxLength, out PlainHead head)
    {
        var limit = Math.Max(maxLength, 0);
        var verdict = ParseWithin(buffer.Length > limit ? buffer[..limit] : buffer, out head);
        if (verdict == HeadVerdict.Incomplete && buffer.Length >= limit)
        {
            verdict = HeadVerdict.NotPlain;
        }

        if (verdict != HeadVerdict.Plain)
        {
            head = default;
        }

        return verdict;
    }

    private static HeadVerdict ParseWithin(ReadOnlySpan<byte> buffer, out PlainHead head)
    {
        head = default;
        var verdict = ParseRequestLine(buffer.Length > MaxRequestLineLength ? buffer[..MaxRequestLineLength] : buffer, out var line);
        if (verdict != HeadVerdict.Plain)
        {
            return verdict == HeadVerdict.Incomplete && buffer.Length >= MaxRequestLineLength ? HeadVerdict.NotPlain : verdict;
        }

        var headersStart = line.Length;
        var rest = buffer[headersStart..];
        verdict = ParseHeaders(rest.Length > MaxHeaderBytes ? rest[..MaxHeaderBytes] : rest, headersStart, out var headers);
        if (verdict != HeadVerdict.Plain)
        {
            return verdict == HeadVerdict.Incomplete && rest.Length >= MaxHeaderBytes ? HeadVerdict.NotPlain : verdict;
        }

        head = new PlainHead(
            headersStart + headers.Length,
            line.IsHead,
            line.TargetStart,
            line.TargetLength,
            line.PathLength,
            headers.HostStart,
            headers.HostLength,
            headersStart,
            headers.Close);
        return HeadVerdict.Plain;
    }

    /// <summary>request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 section 3), one form only.</summary>
    private static HeadVerdict ParseRequestLine(ReadOnlySpan<byte> buffer, out RequestLine line)
    {
        line = default;

        // Method names are case-sensitive (RFC 9110 section 9.1); no empty line before the request line
        // (RFC 9112 section 2.2 lets a server skip one, which a second reader might not).
        int targetStart;
        bool isHead;
        if (buffer.StartsWith("GET "u8))
        {
            (targetStart, isHead) = (4, false);
        }
        else if (buffer.StartsWith("HEAD "u8))
        {
            (targetStart, isHead) = (5, true);
        }
        else
        {
            return IsStartOf(buffer, "GET "u8) || IsStartOf(buffer, "HEAD "u8) ? HeadVerdict.Incomplete : HeadVerdict.NotPlain;
        }

        var target = buffer[targetStart..];
        if (target.IsEmpty)
        {
            return HeadVerdict.Incomplete;
        }

        // origin-form only (RFC 9112 section 3.2.1): absolute-form, authority-form and "*" go to Kestrel.
        if (target[0] != '/')
        {
            return HeadVerdict.NotPlain;
        }

        var pathLength = target.IndexOfAnyExcept(PathChars);
        if (pathLength < 0)
        {
            // The segments up to the last '/' are whole already.
            return HasDotSegment(target[..(target.LastIndexOf((byte)'/') + 1)]) ? HeadVerdict.NotPlain : HeadVerdict.Incomplete;
        }

        // Kestrel decodes '%' and removes dot segments (RFC 3986 section 5.2.4) before routing; the fast path
        // routes on the raw bytes, so a path both would read differently never gets here.
        if (HasDotSegment(target[..pathLength]))
        {
            return HeadVerdict.NotPlain;
        }

        var targetLength = pathLength;
        if (target[pathLength] == '?')
        {
            var verdict = ScanQuery(target[(pathLength + 1)..], out var query);
            if (verdict != HeadVerdict.Plain)
            {
                return verdict;
            }

            targetLength += 1 + query;
        }

        var version = target[targetLength..];
        if (!version.StartsWith(" HTTP/1.1\r\n"u8))
        {
            return IsStartOf(version, " HTTP/1.1\r\n"u8) ? HeadVerdict.Incomplete : HeadVerdict.NotPlain;
        }

        line = new RequestLine(targetStart + targetLength + 11, isHead, targetStart, targetLength, pathLength);
        return HeadVerdict.Plain;
    }

    /// <summary>
    /// Plain with the length of the query up to the byte after it; Incomplete when the bytes end first,
    /// NotPlain at a byte a query cannot hold.
    /// </summary>
    private static HeadVerdict ScanQuery(ReadOnlySpan<byte> query, out int length)
    {
        length = 0;
        var at = 0;
        while (true)
        {
            var next = query[at..].IndexOfAnyExcept(QueryChars);
            if (next < 0)
            {
                return HeadVerdict.Incomplete;
            }

            at += next;
            if (query[at] != '%')
            {
                length = at;
                return HeadVerdict.Plain;
            }

            // pct-encoded = "%" HEXDIG HEXDIG (RFC 3986 section 2.1).
            for (var i = 1; i <= 2; i++)
            {
                if (at + i == query.Length)
                {
                    return HeadVerdict.Incomplete;
                }

                if (!char.IsAsciiHexDigit((char)query[at + i]))
                {
                    return HeadVerdict.NotPlain;
                }
            }

            at += 3;
        }
    }

    /// <summary>The header lines and the empty line after them (RFC 9112 section 5), from the buffer's start.</summary>
    private static HeadVerdict ParseHeaders(ReadOnlySpan<byte> buffer, int offset, out Headers headers)
    {
        headers = default;
        var hostStart = -1;
        var hostLength = 0;
        var connection = false;
        var close = false;
        var count = 0;
        var position = 0;
        while (true)
        {
            var rest = buffer[position..];
            if (rest.IsEmpty)
            {
                return HeadVerdict.Incomplete;
            }

            if (rest[0] == '\r')
            {
                if (rest.Length == 1)
                {
                    return HeadVerdict.Incomplete;
                }

                // A request without Host is an error (RFC 9112 section 3.2); it goes to Kestrel to say so.
                if (rest[1] != '\n' || hostStart < 0)
                {
                    return HeadVerdict.NotPlain;
                }

                headers = new Headers(position + 2, hostStart, hostLength, close);
                return HeadVerdict.Plain;
            }

            if (++count > MaxHeaderCount)
            {
                return HeadVerdict.NotPlain;
            }

            // field-name ":" with nothing between (RFC 9112 section 5.1). A line starting with SP or HTAB
            // (obs-fold, section 5.2), a bare LF and an empty name all stop here.
            var nameLength = rest.IndexOfAnyExcept(TokenChars);
            if (nameLength < 0)
            {
                return HeadVerdict.Incomplete;
            }

            if (nameLength == 0 || rest[nameLength] != ':')
            {
                return HeadVerdict.NotPlain;
            }

            var kind = Classify(rest[..nameLength]);
            if (kind == HeaderKind.NotPlain || (kind == HeaderKind.Host && hostStart >= 0) || (kind == HeaderKind.Connection && connection))
            {
                return HeadVerdict.NotPlain;
            }

            var valueStart = nameLength + 1;
            var valueEnd = rest[valueStart..].IndexOfAnyExcept(ValueChars);
            if (valueEnd < 0)
            {
                return HeadVerdict.Incomplete;
            }

            valueEnd += valueStart;

            // The line ends in CRLF: a bare CR or LF, NUL or any other control byte is not field-content.
            if (rest[valueEnd] != '\r')
            {
                return HeadVerdict.NotPlain;
            }

            if (valueEnd + 1 == rest.Length)
            {
                return HeadVerdict.Incomplete;
            }

            if (rest[valueEnd + 1] != '\n')
            {
                return HeadVerdict.NotPlain;
            }

            // OWS around the value is not part of it (RFC 9110 section 5.5).
            var raw = rest[valueStart..valueEnd];
            var value = raw.TrimStart(" \t"u8);
            var trimmedStart = valueStart + raw.Length - value.Length;
            value = value.TrimEnd(" \t"u8);
            if (kind == HeaderKind.Host)
            {
                if (!IsPlainHost(value))
                {
                    return HeadVerdict.NotPlain;
                }

                hostStart = offset + position + trimmedStart;
                hostLength = value.Length;
            }
            else if (kind == HeaderKind.Connection)
            {
                // One token that changes nothing but persistence (RFC 9112 section 9.6); a list, or a token
                // naming other headers, has Kestrel and the backend each decide what to drop.
                connection = true;
                close = Ascii.EqualsIgnoreCase(value, "close"u8);
                if (!close && !Ascii.EqualsIgnoreCase(value, "keep-alive"u8))
                {
                    return HeadVerdict.NotPlain;
                }
            }

            position += valueEnd + 2;
        }
    }

    private static HeaderKind Classify(ReadOnlySpan<byte> name)
    {
        if (name.Length == 4 && Ascii.EqualsIgnoreCase(name, "Host"u8))
        {
            return HeaderKind.Host;
        }

        if (name.Length == 10 && Ascii.EqualsIgnoreCase(name, "Connection"u8))
        {
            return HeaderKind.Connection;
        }

        if (name.Length >= ForwardedPrefixLength && SameName(name[..ForwardedPrefixLength], "x-forwarded-"u8))
        {
            return HeaderKind.NotPlain;
        }

        if (name.Length < 64 && (NotPlainLengths & (1UL << name.Length)) != 0)
        {
            foreach (var known in NotPlainNames)
            {
                if (known.Length == name.Length && SameName(name, known))
                {
                    return HeaderKind.NotPlain;
                }
            }
        }

        return HeaderKind.Other;
    }

    /// <summary>
    /// Case-insensitive, and '_' the same as '-': servers that map headers to variables (CGI, PHP, WSGI) read
    /// Content_Length as Content-Length, so such a name is not let through as an ordinary header.
    /// </summary>
    private static bool SameName(ReadOnlySpan<byte> name, ReadOnlySpan<byte> lowerKnown)
    {
        for (var i = 0; i < name.Length; i++)
        {
            var b = name[i];
            b = b == '_' ? (byte)'-' : b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
            if (b != lowerKnown[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// uri-host [ ":" port ] (RFC 9110 section 7.2), narrowed to a DNS name or IPv4 address and a port 1-65535
    /// written without leading zeros: no IP literal, no userinfo, no empty port, nothing to normalize.
    /// </summary>
    private static bool IsPlainHost(ReadOnlySpan<byte> host)
    {
        if (host.IsEmpty)
        {
            return false;
        }

        var nameLength = host.IndexOfAnyExcept(HostChars);
        if (nameLength < 0)
        {
            return true;
        }

        if (nameLength == 0 || host[nameLength] != ':')
        {
            return false;
        }

        var port = host[(nameLength + 1)..];
        if (port.Length is 0 or > 5 || port[0] == '0' || port.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return false;
        }

        var number = 0;
        foreach (var digit in port)
        {
            number = (number * 10) + (digit - '0');
        }

        return number <= 65535;
    }

    /// <summary>A segment that is exactly "." or ".." (RFC 3986 section 3.3); the path starts with '/'.</summary>
    private static bool HasDotSegment(ReadOnlySpan<byte> path)
    {
        var at = 0;
        while (true)
        {
            var slashDot = path[at..].IndexOf("/."u8);
            if (slashDot < 0)
            {
                return false;
            }

            var after = at + slashDot + 2;
            if (after == path.Length || path[after] == '/')
            {
                return true;
            }

            if (path[after] == '.' && (after + 1 == path.Length || path[after + 1] == '/'))
            {
                return true;
            }

            at = after;
        }
    }

    private static bool IsStartOf(ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> expected) =>
        buffer.Length < expected.Length && expected.StartsWith(buffer);

    private static byte[] FieldValueBytes()
    {
        var bytes = new List<byte> { (byte)'\t' };
        for (var b = 0x20; b <= 0xFF; b++)
        {
            if (b != 0x7F)
            {
                bytes.Add((byte)b);
            }
        }

        return [.. bytes];
    }

    private static byte[][] BuildNotPlainNames()
    {
        string[] own = ["Content-Length", "Expect", "Forwarded", "X-Content-Length", "Keep-Alive", "HTTP2-Settings"];
        return
        [
            .. HopByHopHeaders.Names.Where(name => !string.Equals(name, "Connection", StringComparison.OrdinalIgnoreCase))
                .Concat(own)
                .Select(LowerAscii),
        ];
    }

    private static byte[] LowerAscii(string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name);
        Ascii.ToLowerInPlace(bytes, out _);
        return bytes;
    }

    private static ulong LengthsOf(byte[][] names)
    {
        var lengths = 0UL;
        foreach (var name in names)
        {
            lengths |= 1UL << name.Length;
        }

        return lengths;
    }

    private readonly record struct RequestLine(int Length, bool IsHead, int TargetStart, int TargetLength, int PathLength);

    private readonly record struct Headers(int Length, int HostStart, int HostLength, bool Close);

    private enum HeaderKind
    {
        Other,
        Host,
        Connection,
        NotPlain,
    }
}
