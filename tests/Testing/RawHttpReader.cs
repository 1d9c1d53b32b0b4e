using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Router.Testing;

/// <summary>
/// Reads HTTP/1.1 messages off a connection, strictly (CRLF line ends, no obsolete line folding), with the
/// body framing of RFC 9112 §6.3. Used by <see cref="RawHttpBackend"/> for requests and by tests for what
/// the router answers.
/// </summary>
public sealed class RawHttpReader(PipeReader reader)
{
    private const int MaxLine = 64 * 1024;

    private bool _reset;

    /// <summary>The next request; null when the connection ended before one began.</summary>
    public Task<RawHttpMessage?> ReadRequestAsync(CancellationToken cancellationToken) => ReadAsync(isRequest: true, bodiless: false, cancellationToken);

    /// <summary>
    /// The next response (an interim 1xx one too); null when the connection ended before one began.
    /// <paramref name="toHead"/> says it answers a HEAD request, so it has no body whatever it announces.
    /// </summary>
    public Task<RawHttpMessage?> ReadResponseAsync(bool toHead, CancellationToken cancellationToken) => ReadAsync(isRequest: false, toHead, cancellationToken);

    /// <summary>Reads and drops everything until the connection ends (closed or reset).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (await ReadAsync(cancellationToken) is { } result)
        {
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    private async Task<RawHttpMessage?> ReadAsync(bool isRequest, bool bodiless, CancellationToken cancellationToken)
    {
        var startLine = await ReadLineAsync(cancellationToken);
        if (startLine is null)
        {
            return null;
        }

        if (!isRequest && !startLine.StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"not an HTTP/1.x status line: {startLine}");
        }

        var headers = await ReadFieldsAsync(cancellationToken);
        if (headers is null)
        {
            return new RawHttpMessage(startLine, [], [], [], Chunked: false, Complete: false);
        }

        var message = new RawHttpMessage(startLine, headers, [], [], Chunked: false, Complete: true);
        var status = isRequest ? 0 : message.Status;

        // RFC 9112 §6.3: no body after HEAD, 1xx, 204 and 304; chunked wins over Content-Length; a request
        // with neither has none; a response with neither runs until the connection closes.
        if (bodiless || status is (>= 100 and < 200) or 204 or 304)
        {
            return message;
        }

        var body = new ArrayBufferWriter<byte>();
        if (message.Elements("Transfer-Encoding") is [.., var last] && last.Equals("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var (complete, trailers) = await ReadChunkedAsync(body, cancellationToken);
            return message with { Body = body.WrittenSpan.ToArray(), Trailers = trailers, Chunked = true, Complete = complete };
        }

        if (message.Values("Content-Length") is [var first, ..] lengths)
        {
            if (lengths.Any(l => l != first) || !long.TryParse(first, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
            {
                throw new InvalidDataException($"bad Content-Length: {string.Join(" | ", lengths)}");
            }

            var whole = await ReadBytesAsync(body, length, cancellationToken);
            return message with { Body = body.WrittenSpan.ToArray(), Complete = whole };
        }

        if (isRequest)
        {
            return message;
        }

        await ReadToEndAsync(body, cancellationToken);
        return message with { Body = body.WrittenSpan.ToArray(), Complete = !_reset };
    }

    /// <summary>Field lines up to the empty line; null when the connection ended first.</summary>
    private async Task<List<KeyValuePair<string, string>>?> ReadFieldsAsync(CancellationToken cancellationToken)
    {
        var fields = new List<KeyValuePair<string, string>>();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }

            if (line.Length == 0)
            {
                return fields;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line[0] is ' ' or '\t' || line[colon - 1] is ' ' or '\t')
            {
                throw new InvalidDataException($"bad field line: {line}");
            }

            fields.Add(new(line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }
    }

    private async Task<(bool Complete, List<KeyValuePair<string, string>> Trailers)> ReadChunkedAsync(ArrayBufferWriter<byte> body, CancellationToken cancellationToken)
    {
        while (true)
        {
            // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF chunk-data CRLF, then last-chunk, trailers, CRLF.
            var sizeLine = await ReadLineAsync(cancellationToken);
            if (sizeLine is null)
            {
                return (false, []);
            }

            var sizeText = sizeLine.Split(';', 2)[0].Trim();
            if (!long.TryParse(sizeText, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var size) || size < 0)
            {
                throw new InvalidDataException($"bad chunk size line: {sizeLine}");
            }

            if (size == 0)
            {
                var trailers = await ReadFieldsAsync(cancellationToken);
                return (trailers is not null, trailers ?? []);
            }

            if (!await ReadBytesAsync(body, size, cancellationToken))
            {
                return (false, []);
            }

            var end = await ReadLineAsync(cancellationToken);
            if (end is null)
            {
                return (false, []);
            }

            if (end.Length != 0)
            {
                throw new InvalidDataException("chunk data longer than its size");
            }
        }
    }

    /// <summary>A line without its CRLF; null when the connection ended first.</summary>
    private async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (await ReadAsync(cancellationToken) is { } result)
        {
            var buffer = result.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } lf)
            {
                var line = buffer.Slice(0, lf).ToArray();
                reader.AdvanceTo(buffer.GetPosition(1, lf));
                if (line.Length == 0 || line[^1] != '\r')
                {
                    throw new InvalidDataException("a line ends in a bare LF");
                }

                return Encoding.Latin1.GetString(line, 0, line.Length - 1);
            }

            if (buffer.Length > MaxLine)
            {
                throw new InvalidDataException($"a line longer than {MaxLine} bytes");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>Copies <paramref name="count"/> bytes; false when the connection ended first (what came is kept).</summary>
    private async Task<bool> ReadBytesAsync(ArrayBufferWriter<byte> destination, long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (await ReadAsync(cancellationToken) is not { } result)
            {
                return false;
            }

            var taken = result.Buffer.Slice(0, Math.Min(count, result.Buffer.Length));
            foreach (var segment in taken)
            {
                destination.Write(segment.Span);
            }

            count -= taken.Length;
            reader.AdvanceTo(taken.End);
            if (count > 0 && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    private async Task ReadToEndAsync(ArrayBufferWriter<byte> destination, CancellationToken cancellationToken)
    {
        while (await ReadAsync(cancellationToken) is { } result)
        {
            foreach (var segment in result.Buffer)
            {
                destination.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>The next read; null once the connection was reset (a reset ends the stream like a close does).</summary>
    private async Task<ReadResult?> ReadAsync(CancellationToken cancellationToken)
    {
        if (_reset)
        {
            return null;
        }

        try
        {
            return await reader.ReadAsync(cancellationToken);
        }
        catch (IOException)
        {
            _reset = true;
            return null;
        }
    }
}
