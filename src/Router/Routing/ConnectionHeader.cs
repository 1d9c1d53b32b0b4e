using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Router.Routing;

/// <summary>
/// The client's Connection header as it came, for removing the headers it names (RFC 9110 section 7.6.1).
/// Kestrel rewrites a Connection header that holds <c>close</c> or <c>keep-alive</c> to that one token
/// (measured on .NET 10: <c>Connection: X-Foo, close</c> reads back as <c>close</c>, two lines
/// <c>X-Foo</c> and <c>keep-alive</c> as <c>keep-alive</c>), so the names are lost by the time a request is
/// handled. What Kestrel does keep is the header encoding it asks for per header name: for
/// <c>Connection</c> the router hands it <see cref="Capture"/>, a Latin-1 decoder that also keeps a value
/// naming other headers in a slot of the connection's own (<see cref="Middleware"/> sets it, and it flows
/// down to Kestrel's header parsing as an AsyncLocal). The handler takes that slot at the start of each
/// request (<see cref="BeginRequest"/>); requests are parsed one after another on an HTTP/1.x connection,
/// so the slot holds exactly what this request's header said. A value of only close/keep-alive is not kept:
/// the usual request costs nothing.
/// </summary>
internal static class ConnectionHeader
{
    private static readonly AsyncLocal<Slot?> Current = new();

    /// <summary>The decoder for the Connection header (RequestHeaderEncodingSelector).</summary>
    public static Encoding Capture { get; } = new CapturingLatin1();

    /// <summary>Kestrel's header encoding: Latin-1 for all (bytes pass unchanged), the capturing one for Connection.</summary>
    public static Encoding Select(string name) =>
        ReferenceEquals(name, Microsoft.Net.Http.Headers.HeaderNames.Connection) || string.Equals(name, "Connection", StringComparison.OrdinalIgnoreCase)
            ? Capture
            : Encoding.Latin1;

    /// <summary>Connection middleware for a listener whose requests are forwarded: gives the connection its slot.</summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware { get; } = next => connection =>
    {
        Current.Value = new Slot();
        return next(connection);
    };

    /// <summary>Moves what the parser kept for this request into place; call first for every request.</summary>
    public static void BeginRequest()
    {
        if (Current.Value is { } slot)
        {
            slot.Request = slot.Parsed;
            slot.Parsed = null;
        }
    }

    /// <summary>
    /// The request's Connection header values: as the client sent them when they name other headers,
    /// otherwise as Kestrel shows them.
    /// </summary>
    public static StringValues Of(HttpRequest request) =>
        Current.Value?.Request is { } raw ? raw : request.Headers.Connection;

    /// <summary>Whether <paramref name="connection"/> names <paramref name="name"/> (comma-separated tokens, any case).</summary>
    public static bool Names(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            var span = value.AsSpan();
            foreach (var range in span.Split(','))
            {
                if (span[range].Trim(" \t").Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Whether a Connection value holds a token other than close and keep-alive.</summary>
    public static bool NamesOtherHeaders(ReadOnlySpan<byte> value)
    {
        foreach (var range in value.Split((byte)','))
        {
            var token = value[range].Trim(" \t"u8);
            if (!token.IsEmpty && !Ascii.EqualsIgnoreCase(token, "close"u8) && !Ascii.EqualsIgnoreCase(token, "keep-alive"u8))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Slot
    {
        /// <summary>Set while the head is parsed; several lines are joined as one list (RFC 9110 section 5.3).</summary>
        public string? Parsed;

        public string? Request;
    }

    /// <summary>Latin-1 (one byte, one char) that remembers a decoded value naming other headers.</summary>
    private sealed class CapturingLatin1 : Encoding
    {
        public CapturingLatin1()
            : base(Latin1.CodePage)
        {
        }

        public override int GetByteCount(char[] chars, int index, int count) => count;

        public override int GetBytes(char[] chars, int charIndex, int charCount, byte[] bytes, int byteIndex) =>
            Latin1.GetBytes(chars, charIndex, charCount, bytes, byteIndex);

        public override int GetCharCount(byte[] bytes, int index, int count) => count;

        public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex)
        {
            var written = Latin1.GetChars(bytes, byteIndex, byteCount, chars, charIndex);
            Keep(bytes.AsSpan(byteIndex, byteCount));
            return written;
        }

        public override string GetString(byte[] bytes, int index, int count)
        {
            Keep(bytes.AsSpan(index, count));
            return Latin1.GetString(bytes, index, count);
        }

        public override int GetMaxByteCount(int charCount) => charCount;

        public override int GetMaxCharCount(int byteCount) => byteCount;

        private static void Keep(ReadOnlySpan<byte> value)
        {
            if (Current.Value is not { } slot || !NamesOtherHeaders(value))
            {
                return;
            }

            var text = Latin1.GetString(value);
            slot.Parsed = slot.Parsed is null ? text : slot.Parsed + ", " + text;
        }
    }
}
