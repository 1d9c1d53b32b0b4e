using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Router.Routing.Direct;

/// <summary>What a client connection on the connection-level path is doing, for the sweep that enforces its deadlines.</summary>
internal enum PlainClientPhase
{
    /// <summary>The router is working for it (parsing, waiting on a backend, whose own deadline applies).</summary>
    Busy,

    /// <summary>Waiting for the next request (--client-idle-timeout).</summary>
    Waiting,

    /// <summary>Waiting for the client to take response bytes (Kestrel's minimum response data rate).</summary>
    Flushing,
}

/// <summary>
/// One client connection served by <see cref="PlainConnectionHandler"/>: its current request head, the
/// response head being built, and what the client has been sent. A response head is staged here and goes
/// to the connection with the first body bytes, so a failure before that can still be answered 502.
/// </summary>
internal sealed class PlainClient
{
    // Kestrel's MinResponseDataRate (240 bytes per second after a 5 s grace) cuts a client that stops
    // reading; the connection-level path applies the same rule to each flush.
    private const double MinResponseBytesPerSecond = 240;
    private static readonly TimeSpan ResponseGrace = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time;
    private readonly IConnectionLifetimeNotificationFeature? _lifetime;
    // The current request's head and its host and path as chars: rented when a request comes, given back when it
    // has been answered, so an idle connection holds neither.
    private byte[]? _head;
    private char[]? _chars;
    private long _unflushedBytes;
    private int _phase;
    private long _deadline;

    public PlainClient(ConnectionContext connection, TimeProvider time)
    {
        Connection = connection;
        _time = time;
        _lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        var remote = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        Remote = remote is { IsIPv4MappedToIPv6: true } ? remote.MapToIPv4() : remote;
    }

    public ConnectionContext Connection { get; }

    public IPAddress? Remote { get; }

    public PipeWriter Output => Connection.Transport.Output;

    /// <summary>The current request head, copied out of the connection's input (PlainHead's offsets point into it).</summary>
    public ReadOnlySpan<byte> Head => _head;

    /// <summary>The response head for the current request, until it goes to the connection.</summary>
    /// <remarks>Its buffer is rented as the head is staged and given back with the others at <see cref="Release"/>.</remarks>
    public RequestHeadWriter Staged { get; } = RequestHeadWriter.Pooled();

    /// <summary>Bytes of the current response reached the connection: a failure now can only cut it.</summary>
    public bool Started { get; private set; }

    /// <summary>The body goes to the client chunked (the backend chunked it, or ends it by closing).</summary>
    public bool Chunked { get; set; }

    /// <summary>Kestrel asked the connection to close (the server is stopping): no further request is read.</summary>
    public bool CloseRequested => _lifetime?.ConnectionClosedRequested.IsCancellationRequested == true;

    public PlainClientPhase Phase => (PlainClientPhase)Volatile.Read(ref _phase);

    public long Deadline => Volatile.Read(ref _deadline);

    public void CopyHead(ReadOnlySpan<byte> head)
    {
        if (head.Overlaps(_head))
        {
            // Already here (a head copied out of a multi-segment read).
            return;
        }

        Grow(head.Length);
        head.CopyTo(_head);
    }

    /// <summary>Copies bytes that span the input's segments; returns them.</summary>
    public ReadOnlySpan<byte> CopyHead(ReadOnlySequence<byte> bytes)
    {
        Grow((int)bytes.Length);
        bytes.CopyTo(_head);
        return _head.AsSpan(0, (int)bytes.Length);
    }

    // The head is copied whole into the buffer afterwards: what it held is not kept.
    private void Grow(int length)
    {
        var old = _head;
        if (old is not null && length <= old.Length)
        {
            return;
        }

        _head = ArrayPool<byte>.Shared.Rent(Math.Max(length, old is null ? 1024 : old.Length * 2));
        if (old is not null)
        {
            ArrayPool<byte>.Shared.Return(old);
        }
    }

    /// <summary>Latin-1 chars of <paramref name="bytes"/> at <paramref name="offset"/> of this request's buffer (valid until <see cref="Release"/>).</summary>
    public ReadOnlySpan<char> Chars(ReadOnlySpan<byte> bytes, int offset)
    {
        if (_chars is null || offset + bytes.Length > _chars.Length)
        {
            // The chars before offset are still read through spans the caller holds: they are copied, and the old
            // buffer is left to the collector rather than given back to the pool while those spans live.
            var bigger = ArrayPool<char>.Shared.Rent(Math.Max(offset + bytes.Length, _chars is null ? 256 : _chars.Length * 2));
            _chars?.AsSpan(0, offset).CopyTo(bigger);
            _chars = bigger;
        }

        var chars = _chars.AsSpan(offset, bytes.Length);
        System.Text.Encoding.Latin1.GetChars(bytes, chars);
        return chars;
    }

    /// <summary>
    /// Gives this request's buffers back to the shared pools, once it is answered or handed on: nothing read from
    /// <see cref="Head"/>, <see cref="Chars"/> or <see cref="Staged"/> may be used after.
    /// </summary>
    public void Release()
    {
        if (_head is { } head)
        {
            _head = null;
            ArrayPool<byte>.Shared.Return(head);
        }

        if (_chars is { } chars)
        {
            _chars = null;
            ArrayPool<char>.Shared.Return(chars);
        }

        Staged.Release();
    }

    /// <summary>The status of the current response, for the metrics (200 until one is staged, as on Kestrel's side).</summary>
    public int Status { get; private set; }

    public void BeginResponse()
    {
        Status = 200;
        Staged.Reset();
        Started = false;
        Chunked = false;
        _unflushedBytes = 0;
    }

    /// <summary>Starts the staged head with its status line (RFC 9112 section 4).</summary>
    public void StageStatusLine(int status, ReadOnlySpan<byte> reason)
    {
        Status = status;
        Staged.Reset();
        Span<byte> code = stackalloc byte[16];
        Utf8Formatter.TryFormat(status, code, out var written);
        Staged.Append("HTTP/1.1 "u8);
        Staged.Append(code[..written]);
        Staged.Append(" "u8);
        Staged.Append(reason);
        Staged.Append("\r\n"u8);
    }

    public void Wait(long deadline)
    {
        Volatile.Write(ref _deadline, deadline);
        Volatile.Write(ref _phase, (int)PlainClientPhase.Waiting);
    }

    public void Work() => Volatile.Write(ref _phase, (int)PlainClientPhase.Busy);

    /// <summary>Moves the staged head onto the connection (unflushed).</summary>
    public void Commit()
    {
        var staged = Staged.Written.Span;
        if (staged.IsEmpty)
        {
            return;
        }

        Write(staged);
        Staged.Reset();
        Started = true;
    }

    /// <summary>Body bytes onto the connection (unflushed), framed as a chunk when the body is chunked.</summary>
    public void WriteBody(ReadOnlySpan<byte> bytes)
    {
        Commit();
        if (bytes.IsEmpty)
        {
            return;
        }

        if (Chunked)
        {
            // RFC 9112 section 7.1: chunk-size in hex, CRLF, data, CRLF.
            Span<byte> size = stackalloc byte[20];
            Utf8Formatter.TryFormat(bytes.Length, size, out var written, new StandardFormat('X'));
            size[written++] = (byte)'\r';
            size[written++] = (byte)'\n';
            Write(size[..written]);
            Write(bytes);
            Write("\r\n"u8);
        }
        else
        {
            Write(bytes);
        }
    }

    /// <summary>Sends what was written; false when the client is gone or stopped reading for too long.</summary>
    public async ValueTask<bool> FlushAsync()
    {
        Commit();
        var rate = TimeSpan.FromSeconds(_unflushedBytes / MinResponseBytesPerSecond);
        _unflushedBytes = 0;
        Volatile.Write(ref _deadline, _time.GetTimestamp() + (long)((ResponseGrace + rate).TotalSeconds * _time.TimestampFrequency));
        Volatile.Write(ref _phase, (int)PlainClientPhase.Flushing);
        FlushResult result;
        try
        {
            result = await Output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or ConnectionAbortedException)
        {
            return false;
        }
        finally
        {
            Work();
        }

        return !result.IsCanceled && !result.IsCompleted;
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _unflushedBytes += bytes.Length;
        while (!bytes.IsEmpty)
        {
            var room = Output.GetSpan(Math.Min(bytes.Length, 4096));
            var take = Math.Min(room.Length, bytes.Length);
            bytes[..take].CopyTo(room);
            Output.Advance(take);
            bytes = bytes[take..];
        }
    }
}

/// <summary>A backend's body straight onto a <see cref="PlainClient"/>'s connection.</summary>
internal readonly struct PlainResponseSink(PlainClient client) : IResponseSink
{
    public void Write(ReadOnlySpan<byte> bytes) => client.WriteBody(bytes);

    public ValueTask<bool> TryFlushAsync() => client.FlushAsync();
}
