using System.Net;
using System.Net.Sockets;
using Router.Loops;
using Router.Routing;

namespace Router.Tcp;

/// <summary>
/// One accepted client connection of a TCP host_port and its backend connection, both owned by one
/// <see cref="EventLoop"/>. It connects as <see cref="BackendConnector"/> does (the route's hosts in turn, a refused
/// or timed-out connect sets the host aside and tries the next), then copies both ways with half-close passed on,
/// and closes both connections once both directions ended or either failed. A direction holds a pooled buffer only
/// while bytes are on their way: an idle relay holds its two sockets and this object.
/// </summary>
internal sealed unsafe class LoopRelay : ILoopTarget, IOpenRelay, IConnectDeadline
{
    private const uint Events = Libc.EpollIn | Libc.EpollOut | Libc.EpollRdHup | Libc.EpollEt;
    private const uint Readable = Libc.EpollIn | Libc.EpollRdHup | Libc.EpollHup | Libc.EpollErr;
    private const uint PeerClosed = Libc.EpollRdHup | Libc.EpollHup | Libc.EpollErr;

    private readonly EventLoop _loop;
    private readonly TcpProxyListener _listener;
    private readonly int _client;
    private readonly IPAddress? _clientAddress;
    private int _server = -1;
    private State _state;
    private DestinationWalk _walk;
    private Destination? _destination;
    private IPAddress[]? _addresses;
    private int _nextAddress;
    private int _attempt;
    private long _deadline;
    private Direction _up;
    private Direction _down;
    private CancellationTokenRegistration _retired;
    private bool _tracked;
    private long _lastActivity;

    private LoopRelay(EventLoop loop, TcpProxyListener listener, int client, IPAddress? clientAddress)
    {
        _loop = loop;
        _listener = listener;
        _client = client;
        _clientAddress = clientAddress;
        _lastActivity = listener.Time.GetTimestamp();

        // Nothing to read until an edge says so: registering a socket that has bytes waiting reports them at once.
        _up.Drained = true;
        _down.Drained = true;
    }

    private enum State
    {
        Connecting,
        Relaying,
        Closed,
    }

    public IPAddress? ClientAddress => _clientAddress;

    /// <summary>When the connect under way times out, in <see cref="Environment.TickCount64"/> milliseconds.</summary>
    public long Deadline => _deadline;

    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>
    /// Takes over an admitted connection that <paramref name="loop"/> accepted: connects it to a host of the
    /// listener's service, or closes it (the service gone or private from here, no host answering).
    /// </summary>
    public static void Start(EventLoop loop, TcpProxyListener listener, int client, IPAddress? clientAddress)
    {
        var relay = new LoopRelay(loop, listener, client, clientAddress);
        _ = Libc.TrySetNoDelay(client);
        if (!loop.Register(client, relay, Events))
        {
            relay.Close();
            return;
        }

        if (!listener.Routes.Current.TryGet(listener.Service, out var route) || listener.InternalNetworks.ShutsOut(route.Entry, clientAddress))
        {
            // Private from outside, or gone since accept: closed, as if nothing listened for them.
            relay.Close();
            return;
        }

        relay._walk = new DestinationWalk(route, BackendConnector.MaxAttempts);
        relay.TryHosts();
    }

    /// <summary>Ends the relay now, both ways. Any thread: the close happens on the loop.</summary>
    public void Abort() => _loop.Post(Close);

    public void OnEvent(int descriptor, uint events)
    {
        if (_state == State.Closed)
        {
            return;
        }

        if ((events & Readable) != 0)
        {
            ref var input = ref descriptor == _client ? ref _up : ref _down;
            input.Drained = false;
            input.PeerClosed |= (events & PeerClosed) != 0;
        }

        if (_state == State.Connecting)
        {
            if (descriptor == _server && (events & (Libc.EpollOut | Libc.EpollErr | Libc.EpollHup)) != 0)
            {
                // A host that answered and reset at once reports both in one event: see ConnectOutcome.
                var error = Libc.ConnectOutcome(_server, errorReported: (events & Libc.EpollErr) != 0);
                if (error == 0)
                {
                    Connected();
                }
                else
                {
                    AddressFailed(error);
                }
            }
            else if (descriptor == _client && (events & Libc.EpollErr) != 0)
            {
                // The client reset while its backend connect was under way: nothing is left to connect for.
                Close();
            }

            return;
        }

        Pump();
        if ((events & Libc.EpollErr) != 0)
        {
            // A reset: what came before it was read and passed on above (a receive returns it first), and then
            // both connections end, as after a failed receive.
            Close();
        }
    }

    public void Fault() => Close();

    /// <summary>The connect deadline sweep: a connect still under way after <see cref="BackendSocket.ConnectTimeout"/> fails.</summary>
    public void CheckDeadline(long now)
    {
        if (_state == State.Connecting && now >= _deadline)
        {
            HostFailed(Libc.Describe(Libc.ETimedOut));
        }
    }

    /// <summary>Starts a connect to the next host the walk gives; closes the client when none is left.</summary>
    private void TryHosts()
    {
        var time = _listener.Time;
        while (_state == State.Connecting && _walk.TryNext(time.GetTimestamp(), out var destination))
        {
            _destination = destination;
            _attempt++;
            _deadline = Environment.TickCount64 + (long)BackendSocket.ConnectTimeout.TotalMilliseconds;
            _loop.WatchDeadline(this);
            if (destination.EndPoint is IPEndPoint ip)
            {
                _addresses = null;
                if (TryConnect(ip, out var error))
                {
                    return;
                }

                ReportFailure(Libc.Describe(error));
                continue;
            }

            Resolve((DnsEndPoint)destination.EndPoint);
            return;
        }

        if (_state == State.Connecting)
        {
            _listener.ReportNoUsableHost();
            Close();
        }
    }

    /// <summary>
    /// A backend named by host name: its addresses are looked up off the loop (a lookup blocks), then tried in
    /// turn within the host's connect time, as a dual-mode <see cref="Socket"/> connects to a <see cref="DnsEndPoint"/>.
    /// </summary>
    private void Resolve(DnsEndPoint endPoint)
    {
        var attempt = _attempt;
        _ = System.Net.Dns.GetHostAddressesAsync(endPoint.Host).ContinueWith(
            lookup => _loop.Post(() => Resolved(attempt, endPoint.Port, lookup)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void Resolved(int attempt, int port, Task<IPAddress[]> lookup)
    {
        if (_state != State.Connecting || attempt != _attempt)
        {
            // Closed, or the connect time ran out and the walk went on meanwhile.
            return;
        }

        if (!lookup.IsCompletedSuccessfully || lookup.Result.Length == 0)
        {
            HostFailed(lookup.Exception?.InnerException?.Message ?? "the name has no address");
            return;
        }

        _addresses = lookup.Result;
        _nextAddress = 0;
        TryNextAddress(port);
    }

    private void TryNextAddress(int port)
    {
        var error = 0;
        while (_addresses is { } addresses && _nextAddress < addresses.Length)
        {
            if (TryConnect(new IPEndPoint(addresses[_nextAddress++], port), out error))
            {
                return;
            }
        }

        HostFailed(Libc.Describe(error));
    }

    /// <summary>A connect under way or made (true), or the errno of a connect that failed at once.</summary>
    private bool TryConnect(IPEndPoint endPoint, out int error)
    {
        var address = stackalloc byte[Libc.AddressCapacity];
        var length = Libc.WriteAddress(endPoint, address);
        var server = Libc.Socket(*(ushort*)address, Libc.SockStream | Libc.SockNonBlock | Libc.SockCloexec, 0);
        if (server < 0)
        {
            error = Libc.LastError;
            return false;
        }

        _ = Libc.TrySetNoDelay(server);
        var connected = Libc.Connect(server, address, (uint)length) == 0;
        error = connected ? 0 : Libc.LastError;
        if (!connected && error != Libc.EInProgress)
        {
            _ = Libc.Close(server);
            return false;
        }

        if (!_loop.Register(server, this, Events))
        {
            error = Libc.LastError;
            _ = Libc.Close(server);
            return false;
        }

        _server = server;
        if (connected)
        {
            Connected();
        }

        return true;
    }

    /// <summary>The connect to the current address failed: the host's next address, or the next host.</summary>
    private void AddressFailed(int error)
    {
        DropServer();
        if (_addresses is not null && _nextAddress < _addresses.Length && _destination is { EndPoint: DnsEndPoint dns })
        {
            TryNextAddress(dns.Port);
            return;
        }

        HostFailed(Libc.Describe(error));
    }

    private void HostFailed(string reason)
    {
        DropServer();
        ReportFailure(reason);
        TryHosts();
    }

    /// <summary>Closes the backend socket of a connect that failed or timed out, if there is one.</summary>
    private void DropServer()
    {
        if (_server >= 0)
        {
            _loop.Close(_server);
            _server = -1;
            _down = new Direction { Drained = true };
        }
    }

    private void ReportFailure(string reason)
    {
        var destination = _destination!;
        var first = destination.ReportConnectFailure(_listener.Time);
        _listener.ReportConnectFailed(destination, reason, first);
    }

    private void Connected()
    {
        _state = State.Relaying;
        _loop.ForgetDeadline(this);
        var destination = _destination!;
        if (destination.ReportSuccess())
        {
            _listener.ReportHostAnsweringAgain(destination);
        }

        _tracked = true;
        _listener.Track(this);

        // The host leaving the registry ends the relay once the drain time is over.
        _retired = destination.Retired.UnsafeRegister(static relay => ((LoopRelay)relay!).Abort(), this);

        // The service may have turned private while this one connected, after the last check looked.
        if (_listener.Routes.Current.TryGet(_listener.Service, out var now) && _listener.InternalNetworks.ShutsOut(now.Entry, _clientAddress))
        {
            Close();
            return;
        }

        // Bytes either side sent meanwhile were told of by an edge, which marked their direction.
        Pump();
    }

    private void Pump()
    {
        if (!Pump(ref _up, _client, _server, fromClient: true) || !Pump(ref _down, _server, _client, fromClient: false)
            || (_up.Ended && _down.Ended))
        {
            Close();
        }
    }

    /// <summary>Moves what one direction's input has to its output until either would block; false on an error.</summary>
    private bool Pump(ref Direction direction, int from, int to, bool fromClient)
    {
        while (!direction.Ended)
        {
            if (direction.Sent < direction.Length)
            {
                var sent = SendRest(ref direction, to);
                if (sent <= 0)
                {
                    // Full: the output's next edge goes on from here, with the buffer kept until then.
                    return sent == 0;
                }
            }

            if (direction.Drained)
            {
                direction.Release(_loop);
                return true;
            }

            if (direction.Buffer is not null && direction.Streaming && !direction.Large)
            {
                // The last read filled the small buffer: bytes stream here, and a large buffer moves them in fewer calls.
                direction.Release(_loop);
            }

            if (direction.Buffer is null)
            {
                direction.Large = direction.Streaming;
                direction.Buffer = _loop.RentBuffer(direction.Large);
            }

            var capacity = direction.Large ? EventLoop.LargeBufferSize : EventLoop.SmallBufferSize;
            var read = (int)Libc.Recv(from, direction.Buffer, capacity, 0);
            if (read > 0)
            {
                direction.Length = read;
                direction.Sent = 0;

                // A short read emptied the socket: the next edge says when more is there. Once the peer has closed
                // no edge follows, so read on to the end of the stream.
                direction.Drained = read < capacity && !direction.PeerClosed;
                direction.Streaming |= read == capacity;
                Volatile.Write(ref _lastActivity, _listener.Time.GetTimestamp());
                if (fromClient)
                {
                    _listener.Counters.AddFromClient(read);
                }
                else
                {
                    _listener.Counters.AddToClient(read);
                }
            }
            else if (read == 0)
            {
                // Half-close: the other side learns there is no more, and may still answer.
                direction.Ended = true;
                direction.Release(_loop);
                _ = Libc.Shutdown(to, Libc.ShutWrite);
            }
            else if (Libc.LastError == Libc.EAgain)
            {
                direction.Drained = true;
            }
            else
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>1 once the buffer is all out, 0 when the socket is full, -1 on an error.</summary>
    private static int SendRest(ref Direction direction, int to)
    {
        while (direction.Sent < direction.Length)
        {
            var count = (int)Libc.Send(to, direction.Buffer + direction.Sent, direction.Length - direction.Sent, Libc.MsgNoSignal);
            if (count > 0)
            {
                direction.Sent += count;
            }
            else
            {
                return count < 0 && Libc.LastError == Libc.EAgain ? 0 : -1;
            }
        }

        return 1;
    }

    private void Close()
    {
        if (_state == State.Closed)
        {
            return;
        }

        if (_state == State.Connecting)
        {
            _loop.ForgetDeadline(this);
        }

        _state = State.Closed;
        _loop.Close(_client);
        if (_server >= 0)
        {
            _loop.Close(_server);
        }

        _up.Release(_loop);
        _down.Release(_loop);
        _retired.Unregister();
        if (_tracked)
        {
            _listener.Untrack(this);
        }

        _listener.Release();
    }

    private struct Direction
    {
        public byte* Buffer;
        public int Length;
        public int Sent;

        /// <summary>The last receive read less than it could: wait for the next edge before reading again.</summary>
        public bool Drained;

        /// <summary>The input's peer has closed: read on to the end of the stream.</summary>
        public bool PeerClosed;

        /// <summary>The end of the stream came and was passed on.</summary>
        public bool Ended;

        /// <summary>A read filled its buffer: large buffers from now on.</summary>
        public bool Streaming;

        /// <summary><see cref="Buffer"/> is a large one.</summary>
        public bool Large;

        /// <summary>Gives the buffer back once nothing in it waits to be sent.</summary>
        public void Release(EventLoop loop)
        {
            if (Buffer is not null)
            {
                loop.ReturnBuffer(Buffer, Large);
                Buffer = null;
                Length = 0;
                Sent = 0;
            }
        }
    }
}
