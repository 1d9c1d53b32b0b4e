using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Router.Loops;

/// <summary>
/// A connection to a backend that lives on an <see cref="EventLoop"/>: connect, receive and send are awaited as on a
/// <see cref="Socket"/>, but they run on the loop's own thread and complete there, without .NET's socket engine.
/// Called on the loop's thread, a receive or send that can go at once goes at once (one system call, no wait); one
/// that has to wait is finished by the loop when epoll reports the socket ready, and the caller's continuation runs
/// on the loop. From any other thread, the operation is posted to the loop and carried out there. The socket is
/// registered edge-triggered, so readiness is remembered: after a receive that found fewer bytes than it had room
/// for, the next receive waits for the next edge instead of trying a call that would find nothing.
/// Used for one operation of each direction at a time, as <see cref="Socket"/> is by the direct path.
/// </summary>
internal sealed class LoopSocket : ILoopTarget
{
    private const uint Events = Libc.EpollIn | Libc.EpollOut | Libc.EpollRdHup | Libc.EpollEt;

    private readonly EventLoop _loop;
    private readonly Operation _receive = new();
    private readonly Operation _send = new();
    private int _descriptor = -1;
    private bool _connecting;
    private bool _readable = true;
    private bool _writable = true;
    private bool _peerClosed;
    private bool _closed;
    private int _closeRequested;
    private Memory<byte> _receiveBuffer;
    private ReadOnlyMemory<byte> _sendBuffer;

    private LoopSocket(EventLoop loop) => _loop = loop;

    /// <summary>The loop the socket lives on.</summary>
    public EventLoop Loop => _loop;

    /// <summary>
    /// Connects to <paramref name="endPoint"/> (a host name's addresses in turn) within <paramref name="timeout"/>,
    /// with Nagle off. A refused connect or one over time throws <see cref="SocketException"/>, as
    /// <c>BackendSocket.ConnectAsync</c> does; <paramref name="cancellationToken"/> throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async ValueTask<LoopSocket> ConnectAsync(EventLoop loop, EndPoint endPoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            IPAddress[] addresses;
            int port;
            switch (endPoint)
            {
                case IPEndPoint ip:
                    (addresses, port) = ([ip.Address], ip.Port);
                    break;
                case DnsEndPoint dns:
                    (addresses, port) = (await System.Net.Dns.GetHostAddressesAsync(dns.Host, deadline.Token).ConfigureAwait(false), dns.Port);
                    break;
                default:
                    throw new ArgumentException($"cannot connect to {endPoint}", nameof(endPoint));
            }

            SocketException? failure = null;
            foreach (var address in addresses)
            {
                var socket = new LoopSocket(loop);
                try
                {
                    await socket.ConnectOneAsync(new IPEndPoint(address, port), deadline.Token).ConfigureAwait(false);
                    return socket;
                }
                catch (SocketException e)
                {
                    socket.Close();
                    failure = e;
                }
                catch
                {
                    socket.Close();
                    throw;
                }
            }

            throw failure ?? new SocketException((int)SocketError.HostNotFound);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SocketException((int)SocketError.TimedOut);
        }
    }

    /// <summary>Receives into <paramref name="buffer"/>; 0 at the end of the stream.</summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer)
    {
        if (!_loop.IsCurrent)
        {
            var posted = _receive.Begin();
            _loop.Post(() => StartReceive(buffer));
            return posted;
        }

        ObjectDisposedException.ThrowIf(_closed, this);
        if (TryReceive(buffer, out var received, out var error))
        {
            return error == 0 ? new ValueTask<int>(received) : ValueTask.FromException<int>(Failure(error));
        }

        var pending = _receive.Begin();
        _receiveBuffer = buffer;
        _receive.Pending = true;
        return pending;
    }

    /// <summary>Sends all of <paramref name="bytes"/>.</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> bytes)
    {
        if (!_loop.IsCurrent)
        {
            var posted = _send.BeginVoid();
            _loop.Post(() => StartSend(bytes));
            return posted;
        }

        ObjectDisposedException.ThrowIf(_closed, this);
        var error = TrySend(ref bytes);
        if (bytes.IsEmpty || error != 0)
        {
            return error == 0 ? ValueTask.CompletedTask : ValueTask.FromException(Failure(error));
        }

        var pending = _send.BeginVoid();
        _sendBuffer = bytes;
        _send.Pending = true;
        return pending;
    }

    /// <summary>
    /// True when anything arrived since the last receive (bytes, the end of the stream, an error), or the socket is
    /// closed: a kept-alive connection that must not be reused. One peek that does not wait. Any thread, while the
    /// socket is not being closed.
    /// </summary>
    public unsafe bool LooksClosed()
    {
        if (Volatile.Read(ref _closeRequested) != 0)
        {
            return true;
        }

        byte one;
        var peeked = Libc.Recv(_descriptor, &one, 1, Libc.MsgPeek | Libc.MsgDontWait);
        return peeked >= 0 || Libc.LastError != Libc.EAgain;
    }

    /// <summary>Closes the socket; a pending receive or send fails. Any thread: the close itself happens on the loop.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) != 0)
        {
            return;
        }

        if (_loop.IsCurrent)
        {
            CloseNow();
        }
        else
        {
            _loop.Post(CloseNow);
        }
    }

    public void OnEvent(int descriptor, uint events)
    {
        var failed = (events & (Libc.EpollErr | Libc.EpollHup)) != 0;
        if (_connecting)
        {
            // A connect ends with the first report on the socket: writable when made, an error when refused. The
            // host's bytes and its close may be in the same report.
            _connecting = false;
            _peerClosed |= (events & Libc.EpollRdHup) != 0 || failed;
            var outcome = Libc.ConnectOutcome(_descriptor, failed);
            if (outcome == 0)
            {
                _send.Succeed(0);
            }
            else
            {
                _send.Fail(Failure(outcome));
            }

            return;
        }

        if ((events & (Libc.EpollIn | Libc.EpollRdHup)) != 0 || failed)
        {
            _readable = true;

            // Data and the close can come in one edge, and no edge follows for a close already queued: from now on
            // every receive goes to the socket, down to the end of the stream.
            _peerClosed |= (events & Libc.EpollRdHup) != 0 || failed;
            if (_receive.Pending && TryReceive(_receiveBuffer, out var received, out var error))
            {
                _receiveBuffer = default;
                if (error == 0)
                {
                    _receive.Succeed(received);
                }
                else
                {
                    _receive.Fail(Failure(error));
                }
            }
        }

        // The receive's continuation ran inline and may have closed the socket.
        if (_closed || ((events & Libc.EpollOut) == 0 && !failed))
        {
            return;
        }

        _writable = true;
        if (_send.Pending)
        {
            ContinueSend();
        }
    }

    public void Fault() => CloseNow();

    private static SocketException Failure(int error) => new((int)Errors.ToSocketError(error));

    private ValueTask ConnectOneAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var pending = _send.BeginVoid();
        _loop.Post(() => StartConnect(endPoint));
        return Await(pending, cancellationToken);

        async ValueTask Await(ValueTask connect, CancellationToken token)
        {
            using var registration = token.UnsafeRegister(static s => ((LoopSocket)s!).CancelConnect(), this);
            await connect.ConfigureAwait(false);
            token.ThrowIfCancellationRequested();
        }
    }

    private unsafe void StartConnect(IPEndPoint endPoint)
    {
        if (Volatile.Read(ref _closeRequested) != 0)
        {
            _send.Fail(new OperationCanceledException());
            return;
        }

        var family = endPoint.AddressFamily == AddressFamily.InterNetwork ? Libc.AfInet : Libc.AfInet6;
        _descriptor = Libc.Socket(family, Libc.SockStream | Libc.SockNonBlock | Libc.SockCloexec, 0);
        if (_descriptor < 0)
        {
            _send.Fail(Failure(Libc.LastError));
            return;
        }

        _ = Libc.TrySetNoDelay(_descriptor);
        var address = stackalloc byte[Libc.AddressCapacity];
        var length = Libc.WriteAddress(endPoint, address);
        var result = Libc.Connect(_descriptor, address, (uint)length);
        var error = result == 0 ? 0 : Libc.LastError;
        if (error != 0 && error != Libc.EInProgress)
        {
            _send.Fail(Failure(error));
            return;
        }

        _connecting = true;
        if (!_loop.Register(_descriptor, this, Events))
        {
            _connecting = false;
            _send.Fail(Failure(Libc.LastError));
        }
    }

    // The connect's deadline passed or the client left: a connect still under way ends now.
    private void CancelConnect() => _loop.Post(() =>
    {
        if (_connecting)
        {
            _connecting = false;
            _send.Fail(new OperationCanceledException());
        }
    });

    private void StartReceive(Memory<byte> buffer)
    {
        if (_closed)
        {
            _receive.Fail(new ObjectDisposedException(nameof(LoopSocket)));
        }
        else if (TryReceive(buffer, out var received, out var error))
        {
            if (error == 0)
            {
                _receive.Succeed(received);
            }
            else
            {
                _receive.Fail(Failure(error));
            }
        }
        else
        {
            _receiveBuffer = buffer;
            _receive.Pending = true;
        }
    }

    private void StartSend(ReadOnlyMemory<byte> bytes)
    {
        if (_closed)
        {
            _send.Fail(new ObjectDisposedException(nameof(LoopSocket)));
            return;
        }

        _sendBuffer = bytes;
        _send.Pending = true;
        ContinueSend();
    }

    private void ContinueSend()
    {
        var error = TrySend(ref _sendBuffer);
        if (error != 0)
        {
            _sendBuffer = default;
            _send.Fail(Failure(error));
        }
        else if (_sendBuffer.IsEmpty)
        {
            _send.Succeed(0);
        }
    }

    /// <summary>False when the socket has nothing now (wait for the next edge); else the count or the errno.</summary>
    private unsafe bool TryReceive(Memory<byte> buffer, out int received, out int error)
    {
        (received, error) = (0, 0);
        if (!_readable)
        {
            return false;
        }

        nint count;
        fixed (byte* bytes = buffer.Span)
        {
            count = Libc.Recv(_descriptor, bytes, buffer.Length, 0);
        }

        if (count >= 0)
        {
            // Fewer bytes than there was room for: the socket is drained, and the next arrival raises a new edge
            // (unless the peer's close came already: the end of the stream raises no edge of its own).
            _readable = count == buffer.Length || _peerClosed;
            received = (int)count;
            return true;
        }

        error = Libc.LastError;
        if (error == Libc.EAgain)
        {
            _readable = false;
            return false;
        }

        return true;
    }

    /// <summary>Sends what it can of <paramref name="bytes"/>, moving past what went; an errno, or 0.</summary>
    private unsafe int TrySend(ref ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty && _writable)
        {
            nint sent;
            fixed (byte* data = bytes.Span)
            {
                sent = Libc.Send(_descriptor, data, bytes.Length, Libc.MsgNoSignal);
            }

            if (sent >= 0)
            {
                bytes = bytes[(int)sent..];
                continue;
            }

            var error = Libc.LastError;
            if (error != Libc.EAgain)
            {
                return error;
            }

            _writable = false;
        }

        return 0;
    }

    private void CloseNow()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        Volatile.Write(ref _closeRequested, 1);
        if (_descriptor >= 0)
        {
            _loop.Close(_descriptor);
        }

        var aborted = new SocketException((int)SocketError.OperationAborted);
        if (_connecting)
        {
            _connecting = false;
            _send.Fail(new OperationCanceledException());
        }

        if (_receive.Pending)
        {
            _receive.Fail(aborted);
        }

        if (_send.Pending)
        {
            _send.Fail(aborted);
        }
    }

    /// <summary>One direction's awaited operation, completed on the loop; its continuation runs there, inline.</summary>
    private sealed class Operation : IValueTaskSource<int>, IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<int> _core;

        /// <summary>Waiting for the loop to finish it.</summary>
        public bool Pending { get; set; }

        public ValueTask<int> Begin()
        {
            _core.Reset();
            return new ValueTask<int>(this, _core.Version);
        }

        public ValueTask BeginVoid()
        {
            _core.Reset();
            return new ValueTask(this, _core.Version);
        }

        public void Succeed(int result)
        {
            Pending = false;
            _core.SetResult(result);
        }

        public void Fail(Exception error)
        {
            Pending = false;
            _core.SetException(error);
        }

        public int GetResult(short token) => _core.GetResult(token);

        void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
