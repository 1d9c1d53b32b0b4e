using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Router.Routing.Direct;

/// <summary>Where a backend's response body goes: the client, through Kestrel's response or straight onto its connection.</summary>
internal interface IResponseSink
{
    /// <summary>Hands body bytes to the client, unflushed.</summary>
    void Write(ReadOnlySpan<byte> bytes);

    /// <summary>Sends what was written; false when the client went away or stopped reading for too long.</summary>
    ValueTask<bool> TryFlushAsync();
}

/// <summary>
/// Copies a backend's response body by its framing (RFC 9112 section 6.3), for both direct paths. Whatever
/// was passed is flushed before each wait on the backend, so the client is never kept waiting by the router.
/// </summary>
internal static class ResponseBody
{
    /// <summary>
    /// Sends the request head written on <paramref name="connection"/> and reads the final response head into
    /// its <see cref="BackendConnection.Response"/>, interim (1xx) responses skipped; returns the head's length,
    /// left buffered for the caller to copy from before it consumes it.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public static async ValueTask<int> ExchangeHeadAsync(BackendConnection connection, bool headRequest)
    {
        connection.BeginRequest();
        await connection.SendHeadAsync().ConfigureAwait(false);
        var head = connection.Response;
        while (true)
        {
            var status = head.TryParse(connection.Buffered, headRequest, out var consumed);
            if (status == ParseStatus.Invalid)
            {
                throw new BackendProtocolException(head.Error!);
            }

            if (status == ParseStatus.Incomplete)
            {
                if (!await connection.FillAsync(BackendConnection.MaxHeadSize).ConfigureAwait(false))
                {
                    throw new IOException(connection.ReceivedAny
                        ? "the backend closed the connection in the middle of the response head"
                        : "the backend closed the connection without answering");
                }

                continue;
            }

            if (head.StatusCode < 200)
            {
                // An interim response (100 Continue, 103 Early Hints): the client gets the final one only.
                connection.Consume(consumed);
                continue;
            }

            return consumed;
        }
    }

    /// <summary>Copies the body; true when it ended where its framing said (the connection may be reused), false when the backend closed to end it.</summary>
    public static async ValueTask<bool> CopyAsync<TSink>(TSink sink, BackendConnection connection, ResponseHead head)
        where TSink : IResponseSink
    {
        switch (head.Framing)
        {
            case BodyFraming.Length:
                await CopyLengthAsync(sink, connection, head.ContentLength).ConfigureAwait(false);
                return true;
            case BodyFraming.Chunked:
                await CopyChunkedAsync(sink, connection).ConfigureAwait(false);
                return true;
            case BodyFraming.UntilClose:
                await CopyUntilCloseAsync(sink, connection).ConfigureAwait(false);
                return false;
            default:
                return true;
        }
    }

    private static async ValueTask CopyLengthAsync<TSink>(TSink sink, BackendConnection connection, long count)
        where TSink : IResponseSink
    {
        while (count > 0)
        {
            if (connection.Buffered.IsEmpty)
            {
                await FlushAsync(sink, connection).ConfigureAwait(false);
                if (!await connection.FillAsync().ConfigureAwait(false))
                {
                    throw new IOException("the backend closed the connection before the end of the body");
                }
            }

            var take = (int)Math.Min(connection.Buffered.Length, count);
            Pass(sink, connection, take);
            count -= take;
        }
    }

    /// <summary>Decodes a chunked body (RFC 9112 section 7.1); the sink frames it again for the client. Trailers are dropped.</summary>
    private static async ValueTask CopyChunkedAsync<TSink>(TSink sink, BackendConnection connection)
        where TSink : IResponseSink
    {
        while (true)
        {
            var length = await ReadLineAsync(sink, connection).ConfigureAwait(false);
            if (!ResponseHead.TryParseChunkSize(TrimLine(connection.Buffered[..length]), out var size))
            {
                throw new BackendProtocolException("a chunk size line is not hexadecimal");
            }

            connection.Consume(length);
            if (size == 0)
            {
                // Trailer section: lines up to an empty one.
                var trailers = 0;
                while (true)
                {
                    length = await ReadLineAsync(sink, connection).ConfigureAwait(false);
                    var empty = TrimLine(connection.Buffered[..length]).IsEmpty;
                    connection.Consume(length);
                    trailers += length;
                    if (empty)
                    {
                        return;
                    }

                    if (trailers > BackendConnection.MaxHeadSize)
                    {
                        throw new BackendProtocolException("the chunked body's trailer section is too large");
                    }
                }
            }

            await CopyLengthAsync(sink, connection, size).ConfigureAwait(false);
            length = await ReadLineAsync(sink, connection).ConfigureAwait(false);
            if (!TrimLine(connection.Buffered[..length]).IsEmpty)
            {
                throw new BackendProtocolException("a chunk is longer than its size");
            }

            connection.Consume(length);
        }
    }

    private static async ValueTask CopyUntilCloseAsync<TSink>(TSink sink, BackendConnection connection)
        where TSink : IResponseSink
    {
        while (true)
        {
            Pass(sink, connection, connection.Buffered.Length);
            await FlushAsync(sink, connection).ConfigureAwait(false);
            if (!await connection.FillAsync().ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>Waits until a whole line is buffered; returns its length with the line end.</summary>
    private static async ValueTask<int> ReadLineAsync<TSink>(TSink sink, BackendConnection connection)
        where TSink : IResponseSink
    {
        while (true)
        {
            var end = connection.Buffered.IndexOf((byte)'\n');
            if (end >= 0)
            {
                return end + 1;
            }

            if (connection.Buffered.Length > 8192)
            {
                throw new BackendProtocolException("a line of the chunked body is too long");
            }

            await FlushAsync(sink, connection).ConfigureAwait(false);
            if (!await connection.FillAsync().ConfigureAwait(false))
            {
                throw new IOException("the backend closed the connection in the middle of a chunked body");
            }
        }
    }

    /// <summary>Hands the first <paramref name="count"/> buffered bytes to the client, unflushed, and consumes them.</summary>
    public static void Pass<TSink>(TSink sink, BackendConnection connection, int count)
        where TSink : IResponseSink
    {
        sink.Write(connection.Buffered[..count]);
        connection.Consume(count);
        connection.ClientUnflushed |= count > 0;
    }

    /// <summary>Sends what was passed so far, if anything; throws <see cref="IOException"/> when the client went away.</summary>
    public static async ValueTask FlushAsync<TSink>(TSink sink, BackendConnection connection)
        where TSink : IResponseSink
    {
        if (!connection.ClientUnflushed)
        {
            return;
        }

        connection.ClientUnflushed = false;

        // Waiting on the client is not waiting on the backend: the backend's deadline stops here and starts
        // again with the next read from it. A client cut for reading too slowly is counted as the client's,
        // not as a backend timeout.
        connection.Idle();
        if (!await sink.TryFlushAsync().ConfigureAwait(false))
        {
            connection.Abort(AbortReason.ClientGone);
            throw new IOException("the client went away");
        }
    }

    private static ReadOnlySpan<byte> TrimLine(ReadOnlySpan<byte> line) => line.TrimEnd("\r\n"u8);
}

/// <summary>The body into Kestrel's response (the direct path for requests Kestrel parsed); Kestrel frames it for the client.</summary>
internal readonly struct KestrelResponseSink(PipeWriter writer) : IResponseSink
{
    public void Write(ReadOnlySpan<byte> bytes)
    {
        // Room is asked for each time: a pipe may hand out none without a size hint.
        while (!bytes.IsEmpty)
        {
            var room = writer.GetSpan(Math.Min(bytes.Length, 4096));
            var take = Math.Min(room.Length, bytes.Length);
            bytes[..take].CopyTo(room);
            writer.Advance(take);
            bytes = bytes[take..];
        }
    }

    public async ValueTask<bool> TryFlushAsync()
    {
        // A client that stops reading is Kestrel's to cut (MinResponseDataRate).
        try
        {
            var result = await writer.FlushAsync().ConfigureAwait(false);
            return !result.IsCanceled && !result.IsCompleted;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }
}
