using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Router.Loops;

namespace Router.Routing.Direct;

/// <summary>Why a backend connection was closed under a request.</summary>
internal enum AbortReason
{
    None,
    Timeout,
    ClientGone,
    Retired,
}

/// <summary>
/// One HTTP/1.1 connection to a backend host, kept alive between requests: the socket, its receive buffer
/// and the buffer the request head is written into. Closing it from outside (<see cref="Abort"/>: the
/// activity timer, the client leaving, the host retiring) ends whatever read or write is pending.
/// Opened on an <see cref="EventLoop"/>'s thread (a client connection of <see cref="LoopTransport"/>), it is a
/// <see cref="LoopSocket"/> on that loop, so the request and its response never leave the loop's thread;
/// elsewhere it is a <see cref="Socket"/>.
/// </summary>
internal sealed class BackendConnection : IDisposable
{
    private const int BufferSize = 16 * 1024;

    /// <summary>The largest response head accepted (HAProxy's default tune.bufsize is 16 KiB; Kestrel's limit is 32 KiB).</summary>
    public const int MaxHeadSize = 64 * 1024;

    // Exactly one of the two.
    private readonly Socket? _socket;
    private readonly LoopSocket? _loopSocket;
    private readonly TimeProvider _time;
    private readonly long _timeoutTicks;
    private readonly ITimer _timer;
    private byte[] _buffer = new byte[BufferSize];
    private int _start;
    private int _end;
    private int _abortReason;
    private long _deadline;

    private BackendConnection(Socket? socket, LoopSocket? loopSocket, TimeProvider time, TimeSpan activityTimeout)
    {
        _socket = socket;
        _loopSocket = loopSocket;
        _time = time;
        _timeoutTicks = (long)(activityTimeout.TotalSeconds * time.TimestampFrequency);

        // A coarse watchdog instead of re-arming a timer at every read and write (three timer-queue
        // updates per request): each operation only moves a deadline, and the check runs ten times per
        // timeout, so a silent backend is cut between 100 % and 110 % of it.
        var period = TimeSpan.FromTicks(Math.Max(activityTimeout.Ticks / 10, TimeSpan.TicksPerMillisecond * 100));
        _timer = time.CreateTimer(static s => ((BackendConnection)s!).CheckActivity(), this, period, period);
    }

    /// <summary>The request head is built here; it grows for large heads and stays grown.</summary>
    public RequestHeadWriter Head { get; } = new();

    /// <summary>The loop the connection lives on; null for one on .NET's sockets.</summary>
    public EventLoop? Loop => _loopSocket?.Loop;

    /// <summary>Filled in by each response read on this connection.</summary>
    public ResponseHead Response { get; } = new();

    /// <summary>Strings of the header lines this backend sent last.</summary>
    public HeaderStringCache HeaderStrings { get; } = new();

    /// <summary>Whether any byte of a response came for the current request.</summary>
    public bool ReceivedAny { get; private set; }

    /// <summary>Body bytes were handed to the client's response and not flushed yet.</summary>
    public bool ClientUnflushed { get; set; }

    public AbortReason AbortedBy => (AbortReason)Volatile.Read(ref _abortReason);

    /// <summary>When it went back to the pool (a Stopwatch timestamp).</summary>
    public long IdleSince { get; set; }

    /// <summary>Bytes received and not yet consumed.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    public static async ValueTask<BackendConnection> ConnectAsync(EndPoint endPoint, TimeProvider time, TimeSpan activityTimeout, CancellationToken cancellationToken) =>
        EventLoop.Current is { } loop
            ? new(null, await LoopSocket.ConnectAsync(loop, endPoint, BackendSocket.ConnectTimeout, cancellationToken).ConfigureAwait(false), time, activityTimeout)
            : new(await BackendSocket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false), null, time, activityTimeout);

    public void BeginRequest()
    {
        ReceivedAny = false;
        ClientUnflushed = false;
    }

    public void Consume(int count) => _start += count;

    /// <summary>
    /// Receives more bytes after those buffered, within the activity timeout; false at the end of the
    /// stream. Fails when the buffered bytes already reach <paramref name="limit"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public async ValueTask<bool> FillAsync(int limit = BufferSize)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            var buffered = _end - _start;
            if (_start == 0)
            {
                if (buffered >= limit)
                {
                    throw new BackendProtocolException($"the response head is larger than {limit} bytes");
                }

                Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, limit));
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, buffered);
                _start = 0;
                _end = buffered;
            }
        }

        Volatile.Write(ref _deadline, _time.GetTimestamp() + _timeoutTicks);
        var received = _loopSocket is { } loopSocket
            ? await loopSocket.ReceiveAsync(_buffer.AsMemory(_end)).ConfigureAwait(false)
            : await _socket!.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None).ConfigureAwait(false);
        _end += received;
        ReceivedAny |= received > 0;
        return received > 0;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendHeadAsync()
    {
        Volatile.Write(ref _deadline, _time.GetTimestamp() + _timeoutTicks);
        var head = Head.Written;
        if (_loopSocket is { } loopSocket)
        {
            await loopSocket.SendAsync(head).ConfigureAwait(false);
            return;
        }

        while (!head.IsEmpty)
        {
            var sent = await _socket!.SendAsync(head, SocketFlags.None).ConfigureAwait(false);
            head = head[sent..];
        }
    }

    /// <summary>No request is waiting on the connection: no deadline until the next one.</summary>
    public void Idle() => Volatile.Write(ref _deadline, 0);

    /// <summary>
    /// True when anything came on the connection since its last response ended: bytes (a body on a HEAD, 204
    /// or 304 answer, more than its Content-Length), a close or an error. Such a connection must not be reused:
    /// those bytes would be read as the next client's response. One poll(2) with no wait, as SocketsHttpHandler
    /// does for each pooled connection it reuses; a read left pending on idle connections was tried and is not
    /// enough, because its completion runs on the thread pool and may lag behind bytes already received.
    /// </summary>
    public bool LooksClosed()
    {
        if (_loopSocket is { } loopSocket)
        {
            return loopSocket.LooksClosed();
        }

        try
        {
            return _socket!.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    private void CheckActivity()
    {
        var deadline = Volatile.Read(ref _deadline);
        if (deadline != 0 && _time.GetTimestamp() > deadline)
        {
            Abort(AbortReason.Timeout);
        }
    }

    /// <summary>Closes the connection under whatever is pending on it; the first reason given is kept.</summary>
    public void Abort(AbortReason reason)
    {
        Interlocked.CompareExchange(ref _abortReason, (int)reason, (int)AbortReason.None);
        CloseSocket();
    }

    public void Dispose()
    {
        _timer.Dispose();
        CloseSocket();
    }

    private void CloseSocket()
    {
        _socket?.Dispose();
        _loopSocket?.Close();
    }
}

/// <summary>The backend broke HTTP/1.1: its response cannot be forwarded.</summary>
internal sealed class BackendProtocolException(string message) : Exception(message);
