using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Router.Routing.Direct;

/// <summary>How the body of a backend's response is delimited (RFC 9112 section 6.3).</summary>
internal enum BodyFraming
{
    /// <summary>No body: a HEAD request, or status 1xx, 204 or 304.</summary>
    None,

    /// <summary>Exactly <see cref="ResponseHead.ContentLength"/> bytes.</summary>
    Length,

    /// <summary>Transfer-Encoding: chunked.</summary>
    Chunked,

    /// <summary>Everything until the backend closes: the connection cannot be reused.</summary>
    UntilClose,
}

/// <summary>One header line of a response head, as offsets into the buffer the head was read from.</summary>
internal readonly record struct HeaderLine(int Start, int NameLength, int ValueStart, int ValueLength, bool Folded = false)
{
    public ReadOnlySpan<byte> Line(ReadOnlySpan<byte> head) => head.Slice(Start, ValueStart + ValueLength - Start);

    public ReadOnlySpan<byte> Name(ReadOnlySpan<byte> head) => head.Slice(Start, NameLength);

    public ReadOnlySpan<byte> Value(ReadOnlySpan<byte> head) => head.Slice(ValueStart, ValueLength);
}

/// <summary>
/// The parsed status line and headers of a backend's HTTP/1.x response. The framing headers
/// (Content-Length, Transfer-Encoding, Connection) are interpreted here; every other header is listed in
/// <see cref="Headers"/> for the forwarder to copy, hop-by-hop ones left out.
/// </summary>
internal sealed class ResponseHead
{
    private static readonly SearchValues<byte> TokenChars = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    public int StatusCode { get; private set; }

    public long ContentLength { get; private set; } = -1;

    public BodyFraming Framing { get; private set; }

    /// <summary>The backend keeps the connection open after this response.</summary>
    public bool KeepAlive { get; private set; }

    /// <summary>Set when the Connection header names other headers, which are hop-by-hop for this response.</summary>
    public bool ConnectionNamesHeaders => _connection.Length > 0;

    public List<HeaderLine> Headers { get; } = new(16);

    private (int Start, int Length) _connection;
    private (int Start, int Length) _reason;

    /// <summary>The status line's reason phrase as the backend sent it (may be empty).</summary>
    public ReadOnlySpan<byte> Reason(ReadOnlySpan<byte> head) => head.Slice(_reason.Start, _reason.Length);

    /// <summary>The Connection header's value, for removing the headers it names.</summary>
    public ReadOnlySpan<byte> ConnectionValue(ReadOnlySpan<byte> head) => head.Slice(_connection.Start, _connection.Length);

    /// <summary>Why <see cref="TryParse"/> said <see cref="ParseStatus.Invalid"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>
    /// Parses one response head from the start of <paramref name="buffer"/>. Interim (1xx) responses are
    /// for the caller to skip: their <see cref="StatusCode"/> is below 200 and <paramref name="consumed"/>
    /// covers them. Bare LF line ends are accepted (RFC 9112 section 2.2). A header folded over lines
    /// (obs-fold) is kept with its line breaks, for the copy to turn into spaces (RFC 9112 section 5.2, as
    /// HAProxy and .NET's HttpClient do); folding a framing header is refused.
    /// </summary>
    public ParseStatus TryParse(ReadOnlySpan<byte> buffer, bool headRequest, out int consumed)
    {
        consumed = 0;
        Reset();
        if (buffer.Length >= 5 && !buffer.StartsWith("HTTP/"u8))
        {
            return Invalid("the response does not start with HTTP/");
        }

        var lineEnd = buffer.IndexOf((byte)'\n');
        if (lineEnd < 0)
        {
            return ParseStatus.Incomplete;
        }

        // HTTP/1.x SP 3DIGIT SP reason (RFC 9112 section 4); the reason may be empty.
        var statusLine = TrimCr(buffer[..lineEnd]);
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || !IsDigit(statusLine[7]) || statusLine[8] != ' '
            || !IsDigit(statusLine[9]) || !IsDigit(statusLine[10]) || !IsDigit(statusLine[11]) || (statusLine.Length > 12 && statusLine[12] != ' '))
        {
            return Invalid("the status line is not HTTP/1.x NNN");
        }

        var http10 = statusLine[7] == '0';
        StatusCode = ((statusLine[9] - '0') * 100) + ((statusLine[10] - '0') * 10) + (statusLine[11] - '0');
        _reason = statusLine.Length > 13 ? (13, statusLine.Length - 13) : default;
        if (StatusCode < 100)
        {
            return Invalid($"status {StatusCode} is not a valid status code");
        }

        var keepAlive = !http10;
        var chunked = false;
        var transferEncoding = false;
        var position = lineEnd + 1;
        var previous = Previous.None;
        while (true)
        {
            var next = buffer[position..].IndexOf((byte)'\n');
            if (next < 0)
            {
                return ParseStatus.Incomplete;
            }

            var line = TrimCr(buffer.Slice(position, next));
            var lineStart = position;
            position += next + 1;
            if (line.IsEmpty)
            {
                break;
            }

            if (line[0] is (byte)' ' or (byte)'\t')
            {
                var more = line.Trim(" \t"u8);
                if (previous is Previous.None or Previous.Framing || more.IndexOfAnyInRange((byte)0, (byte)0x08) >= 0
                    || more.IndexOfAnyInRange((byte)0x0A, (byte)0x1F) >= 0 || more.Contains((byte)0x7F))
                {
                    return Invalid("the response folds a framing header over lines, or starts with a folded line (obs-fold)");
                }

                if (previous == Previous.Kept && !more.IsEmpty)
                {
                    var last = Headers[^1];
                    var end = lineStart + line.TrimEnd(" \t"u8).Length;
                    Headers[^1] = last with { ValueLength = end - last.ValueStart, Folded = true };
                }

                continue;
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return Invalid("a response header line is not name: value");
            }

            var name = line[..colon];
            var valueStart = colon + 1;
            var value = line[valueStart..];
            var leading = value.Length - value.TrimStart(" \t"u8).Length;
            value = value.Trim(" \t"u8);
            valueStart += leading;
            if (value.IndexOfAnyInRange((byte)0, (byte)0x08) >= 0 || value.IndexOfAnyInRange((byte)0x0A, (byte)0x1F) >= 0 || value.Contains((byte)0x7F))
            {
                return Invalid("a response header value holds a control character");
            }

            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!TryParseLength(value, out var length) || (ContentLength >= 0 && ContentLength != length))
                {
                    return Invalid("the response's Content-Length is not one number");
                }

                ContentLength = length;
                previous = Previous.Framing;
                continue;
            }

            if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                // Chunked must be the last coding for the length to be known from it (RFC 9112 section 6.3).
                transferEncoding = true;
                chunked = LastToken(value, out var last) && Ascii.EqualsIgnoreCase(last, "chunked"u8);
                previous = Previous.Framing;
                continue;
            }

            if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                foreach (var range in value.Split((byte)','))
                {
                    var token = value[range].Trim(" \t"u8);
                    if (Ascii.EqualsIgnoreCase(token, "close"u8))
                    {
                        keepAlive = false;
                    }
                    else if (Ascii.EqualsIgnoreCase(token, "keep-alive"u8))
                    {
                        keepAlive = keepAlive || http10;
                    }
                    else if (!token.IsEmpty)
                    {
                        _connection = (lineStart + valueStart, value.Length);
                    }
                }

                previous = Previous.Framing;
                continue;
            }

            if (HopByHopHeaders.Contains(name))
            {
                previous = Previous.Dropped;
                continue;
            }

            Headers.Add(new HeaderLine(lineStart, name.Length, lineStart + valueStart, value.Length));
            previous = Previous.Kept;
        }

        consumed = position;
        if (StatusCode < 200)
        {
            if (StatusCode == 101)
            {
                return Invalid("the backend switched protocols, which the router did not ask for");
            }

            return ParseStatus.Done;
        }

        if (headRequest || StatusCode is 204 or 304)
        {
            Framing = BodyFraming.None;
        }
        else if (transferEncoding)
        {
            // Transfer-Encoding overrides Content-Length; without chunked last, the body ends at close.
            Framing = chunked ? BodyFraming.Chunked : BodyFraming.UntilClose;
            ContentLength = -1;
            keepAlive = keepAlive && chunked;
        }
        else if (ContentLength >= 0)
        {
            Framing = BodyFraming.Length;
        }
        else
        {
            Framing = BodyFraming.UntilClose;
            keepAlive = false;
        }

        KeepAlive = keepAlive;
        return ParseStatus.Done;
    }

    /// <summary>Parses a chunk-size line (RFC 9112 section 7.1): hex digits, then optional extensions.</summary>
    public static bool TryParseChunkSize(ReadOnlySpan<byte> line, out long size)
    {
        size = 0;
        var digits = 0;
        foreach (var b in line)
        {
            var value = HexValue(b);
            if (value < 0)
            {
                break;
            }

            if (++digits > 15)
            {
                return false;
            }

            size = (size << 4) | (long)value;
        }

        if (digits == 0)
        {
            return false;
        }

        var rest = line[digits..].TrimStart(" \t"u8);
        return rest.IsEmpty || rest[0] == ';';
    }

    private void Reset()
    {
        StatusCode = 0;
        ContentLength = -1;
        Framing = BodyFraming.None;
        KeepAlive = false;
        _connection = default;
        _reason = default;
        Headers.Clear();
        Error = null;
    }

    private ParseStatus Invalid(string error)
    {
        Error = error;
        return ParseStatus.Invalid;
    }

    private static bool TryParseLength(ReadOnlySpan<byte> value, out long length)
    {
        // A list of equal values is allowed (RFC 9110 section 8.6); each must be plain digits.
        length = -1;
        foreach (var range in value.Split((byte)','))
        {
            var item = value[range].Trim(" \t"u8);
            if (item.IsEmpty || item.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0
                || !Utf8Parser.TryParse(item, out long parsed, out var used) || used != item.Length || (length >= 0 && parsed != length))
            {
                return false;
            }

            length = parsed;
        }

        return length >= 0;
    }

    private static bool LastToken(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> last)
    {
        var comma = value.LastIndexOf((byte)',');
        last = value[(comma + 1)..].Trim(" \t"u8);
        return !last.IsEmpty;
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) => line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>What the header line before a folded one was.</summary>
    private enum Previous
    {
        None,
        Kept,
        Dropped,
        Framing,
    }

    // tchar (RFC 9110 section 5.6.2).
    private static bool IsToken(ReadOnlySpan<byte> name) => name.IndexOfAnyExcept(TokenChars) < 0;

}

/// <summary>Outcome of parsing from a buffer that may hold only part of the input.</summary>
internal enum ParseStatus
{
    Incomplete,
    Done,
    Invalid,
}
