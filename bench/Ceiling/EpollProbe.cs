using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Router.Bench.Ceiling;

/// <summary>
/// The connection probe's work on Linux's system calls directly, with neither .NET's socket engine nor Kestrel's
/// transport: one thread, one edge-triggered epoll, non-blocking sockets from <c>accept4</c>, a backend connection
/// per client connection, taken from an idle pool when there is one. A receive that fills less than the space it was
/// given is taken as having drained the socket, since the next arrival raises a new edge (unless the peer has closed:
/// then it reads to the end); so a request costs one receive and one send on each side, as in HAProxy. It measures what a transport of our own could save. Not a
/// proxy: no routing, no checks, no limits, one backend, Content-Length answers only, heads up to 16 KiB.
/// </summary>
internal static unsafe partial class EpollProbe
{
    private const int AfInet = 2;
    private const int SockStream = 1;
    private const int SockNonBlock = 0x800;
    private const int SockCloexec = 0x80000;
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private const int IpProtoTcp = 6;
    private const int TcpNoDelay = 1;
    private const int EpollCtlAdd = 1;
    private const uint EpollIn = 0x1;
    private const uint EpollOut = 0x4;
    private const uint EpollErr = 0x8;
    private const uint EpollHup = 0x10;
    private const uint EpollRdHup = 0x2000;
    private const uint EpollEt = 1u << 31;

    // A hang-up is read as well: the data before it must still be passed on.
    private const uint Readable = EpollIn | EpollRdHup | EpollHup;

    // The peer has closed: read to the end of the stream, not to a short read. Data and the close can come in one
    // edge, and no edge follows for a close already queued.
    private const uint PeerClosed = EpollRdHup | EpollHup;
    private const int MsgNoSignal = 0x4000;
    private const int EIntr = 4;
    private const int EAgain = 11;
    private const int EInProgress = 115;

    private const int ShutWrite = 1;

    private static readonly IPair?[] ByDescriptor = new IPair?[1 << 20];

    private interface IPair
    {
        void OnEvent(int descriptor, uint events);
    }

    /// <summary>Serves until killed: HTTP/1.1 requests (<paramref name="relay"/> false) or a plain TCP relay.</summary>
    public static int Run(int port, int backendPort, bool relay)
    {
        var listener = Check(Socket(AfInet, SockStream | SockNonBlock | SockCloexec, 0), "socket");
        SetOption(listener, SolSocket, SoReuseAddr);
        var local = Loopback(port);
        Check(Bind(listener, &local, (uint)sizeof(SockAddrIn)), "bind");
        Check(Listen(listener, 1024), "listen");
        var epoll = Check(EpollCreate1(SockCloexec), "epoll_create1");
        Register(epoll, listener, EpollIn);
        var backend = Loopback(backendPort);
        var events = stackalloc EpollEvent[256];
        while (true)
        {
            var count = EpollWait(epoll, events, 256, -1);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == EIntr)
                {
                    continue;
                }

                throw new IOException($"epoll_wait: errno {Marshal.GetLastPInvokeError()}");
            }

            for (var i = 0; i < count; i++)
            {
                var descriptor = (int)events[i].Data;
                if (descriptor == listener)
                {
                    AcceptAll(epoll, listener, &backend, relay);
                }
                else
                {
                    ByDescriptor[descriptor]?.OnEvent(descriptor, events[i].Events);
                }
            }
        }
    }

    private static void AcceptAll(int epoll, int listener, SockAddrIn* backend, bool relay)
    {
        while (true)
        {
            var client = Accept4(listener, null, null, SockNonBlock | SockCloexec);
            if (client < 0)
            {
                return;
            }

            SetOption(client, IpProtoTcp, TcpNoDelay);
            var idle = relay ? -1 : Idle.Take();
            if (idle >= 0)
            {
                var reused = new Pair(client, idle, connected: true);
                ByDescriptor[client] = reused;
                ByDescriptor[idle] = reused;
                Register(epoll, client, EpollIn | EpollOut | EpollRdHup | EpollEt);
                continue;
            }

            var server = Check(Socket(AfInet, SockStream | SockNonBlock | SockCloexec, 0), "socket");
            SetOption(server, IpProtoTcp, TcpNoDelay);
            var connected = Connect(server, backend, (uint)sizeof(SockAddrIn)) == 0;
            if (!connected && Marshal.GetLastPInvokeError() != EInProgress)
            {
                Close(client);
                Close(server);
                continue;
            }

            IPair pair = relay ? new RelayPair(client, server, connected) : new Pair(client, server, connected);
            ByDescriptor[client] = pair;
            ByDescriptor[server] = pair;
            Register(epoll, client, EpollIn | EpollOut | EpollRdHup | EpollEt);
            Register(epoll, server, EpollIn | EpollOut | EpollRdHup | EpollEt);
        }
    }

    /// <summary>
    /// One client connection and the backend connection it holds while it is open. A request with
    /// <c>Connection: close</c> goes to the backend without that line and comes back with it; the client connection
    /// then closes and the backend connection goes back to the idle pool, as the router and HAProxy keep theirs.
    /// </summary>
    private sealed class Pair(int client, int server, bool connected) : IPair
    {
        private const int InCapacity = 16 * 1024;
        private const int OutCapacity = 64 * 1024;
        private static readonly byte[] ForwardedFor = "X-Forwarded-For: 127.0.0.1\r\n\r\n"u8.ToArray();
        private static readonly byte[] CloseLine = "Connection: close\r\n\r\n"u8.ToArray();

        private const int BlockSize = InCapacity + InCapacity + 64 + OutCapacity + OutCapacity + 64;

        private readonly byte* _block = Blocks.Take(BlockSize);
        private bool _connected = connected;
        private bool _closed;
        private bool _inFlight;
        private bool _closeAfter;
        private int _inLength;
        private int _requestLength;
        private int _requestSent;
        private int _outLength;
        private int _answerLength = -1;
        private int _answerHeadLength;
        private int _replyLength;
        private int _replySent;

        // One block per pair, in four parts: the client's bytes, the request as forwarded, the backend's bytes, the reply.
        private byte* InBuffer => _block;

        private byte* RequestBuffer => _block + InCapacity;

        private byte* OutBuffer => _block + InCapacity + InCapacity + 64;

        private byte* ReplyBuffer => _block + InCapacity + InCapacity + 64 + OutCapacity;

        public void OnEvent(int descriptor, uint events)
        {
            if ((events & EpollErr) != 0)
            {
                Shut(poolServer: false);
                return;
            }

            if (descriptor == client)
            {
                if ((events & EpollOut) != 0 && !SendReply())
                {
                    return;
                }

                if ((events & Readable) != 0)
                {
                    var read = Receive(client, InBuffer, ref _inLength, InCapacity, toTheEnd: (events & PeerClosed) != 0);
                    if (read > 0)
                    {
                        StartRequest();
                    }
                    else
                    {
                        // The client left: a backend connection with nothing in flight may serve another.
                        Shut(poolServer: read == 0 && !_inFlight && _outLength == 0);
                    }
                }
            }
            else
            {
                if ((events & EpollOut) != 0)
                {
                    _connected = true;
                    if (!SendRequest())
                    {
                        return;
                    }
                }

                if ((events & Readable) != 0)
                {
                    if (Receive(server, OutBuffer, ref _outLength, OutCapacity, toTheEnd: (events & PeerClosed) != 0) > 0)
                    {
                        FinishAnswer();
                    }
                    else
                    {
                        Shut(poolServer: false);
                    }
                }
            }
        }

        /// <summary>
        /// Reads until a short read (with <paramref name="toTheEnd"/>, the end of the stream) or EAGAIN: 1, or 0 at the
        /// end of the stream, -1 on an error or a full buffer.
        /// </summary>
        private static int Receive(int descriptor, byte* buffer, ref int length, int capacity, bool toTheEnd)
        {
            while (true)
            {
                var space = capacity - length;
                if (space == 0)
                {
                    return -1;
                }

                var read = (int)Recv(descriptor, buffer + length, space, 0);
                if (read > 0)
                {
                    length += read;
                    if (read < space && !toTheEnd)
                    {
                        return 1;
                    }

                    continue;
                }

                if (read == 0)
                {
                    return 0;
                }

                return Marshal.GetLastPInvokeError() == EAgain ? 1 : -1;
            }
        }

        private void StartRequest()
        {
            if (_closed || _inFlight)
            {
                return;
            }

            var buffered = new ReadOnlySpan<byte>(InBuffer, _inLength);
            var end = buffered.IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                return;
            }

            // The head without its last empty line and without Connection: close, then X-Forwarded-For and the empty line.
            var head = buffered[..(end + 2)];
            var request = new Span<byte>(RequestBuffer, InCapacity + 64);
            var close = head.IndexOf("\r\nConnection: close\r\n"u8);
            _closeAfter = close >= 0;
            var length = 0;
            if (_closeAfter)
            {
                head[..(close + 2)].CopyTo(request);
                length = close + 2;
                head = head[(close + 2 + "Connection: close\r\n".Length)..];
            }

            head.CopyTo(request[length..]);
            length += head.Length;
            ForwardedFor.CopyTo(request[length..]);
            _requestLength = length + ForwardedFor.Length;
            _requestSent = 0;
            buffered[(end + 4)..].CopyTo(new Span<byte>(InBuffer, _inLength));
            _inLength -= end + 4;
            _inFlight = true;
            SendRequest();
        }

        private bool SendRequest()
        {
            if (!_connected || _closed)
            {
                return !_closed;
            }

            if (SendRest(server, RequestBuffer, ref _requestSent, _requestLength) < 0)
            {
                Shut(poolServer: false);
                return false;
            }

            return true;
        }

        private void FinishAnswer()
        {
            if (_answerLength < 0)
            {
                var buffered = new ReadOnlySpan<byte>(OutBuffer, _outLength);
                var end = buffered.IndexOf("\r\n\r\n"u8);
                if (end < 0)
                {
                    return;
                }

                _answerHeadLength = end + 4;
                _answerLength = _answerHeadLength + ContentLength(buffered[..(end + 2)]);
            }

            if (_outLength < _answerLength)
            {
                return;
            }

            // The answer as it came, or with its Connection line replaced by Connection: close.
            var answer = new ReadOnlySpan<byte>(OutBuffer, _answerLength);
            var reply = new Span<byte>(ReplyBuffer, OutCapacity + 64);
            var headEnd = _answerHeadLength - 2;
            var head = answer[..headEnd];
            var length = 0;
            if (_closeAfter)
            {
                var line = head.IndexOf("\r\nConnection:"u8);
                if (line >= 0)
                {
                    head[..(line + 2)].CopyTo(reply);
                    length = line + 2;
                    var rest = head[(line + 2)..];
                    head = rest[(rest.IndexOf("\r\n"u8) + 2)..];
                }

                head.CopyTo(reply[length..]);
                length += head.Length;
                CloseLine.CopyTo(reply[length..]);
                length += CloseLine.Length;
                answer[(headEnd + 2)..].CopyTo(reply[length..]);
                length += answer.Length - headEnd - 2;
            }
            else
            {
                answer.CopyTo(reply);
                length = answer.Length;
            }

            new ReadOnlySpan<byte>(OutBuffer + _answerLength, _outLength - _answerLength).CopyTo(new Span<byte>(OutBuffer, _outLength));
            _outLength -= _answerLength;
            _answerLength = -1;
            _replyLength = length;
            _replySent = 0;
            SendReply();
        }

        /// <summary>Sends what is left of the reply; false once the pair is shut.</summary>
        private bool SendReply()
        {
            if (_closed)
            {
                return false;
            }

            switch (SendRest(client, ReplyBuffer, ref _replySent, _replyLength))
            {
                case < 0:
                    Shut(poolServer: false);
                    return false;
                case 0:
                    return true;
            }

            if (_replyLength == 0)
            {
                return true;
            }

            _inFlight = false;
            _replyLength = 0;
            if (_closeAfter)
            {
                Shut(poolServer: _outLength == 0);
                return false;
            }

            StartRequest();
            return !_closed;
        }

        private void Shut(bool poolServer)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            ByDescriptor[client] = null;
            Close(client);
            if (poolServer && _connected)
            {
                Idle.Put(server);
            }
            else
            {
                ByDescriptor[server] = null;
                Close(server);
            }

            Blocks.Return(BlockSize, _block);
        }

        private static int ContentLength(ReadOnlySpan<byte> head) =>
            checked((int)Backend.ContentLength(head));
    }

    /// <summary>
    /// Idle backend connections. Anything a pooled connection reports (the backend's close, stray bytes) takes it out
    /// and closes it, so a connection is only reused while nothing came on it: the router's safety rule, without a poll.
    /// </summary>
    private sealed class Idle : IPair
    {
        private static readonly Idle Marker = new();
        private static readonly Stack<int> Descriptors = new();

        public static void Put(int descriptor)
        {
            ByDescriptor[descriptor] = Marker;
            Descriptors.Push(descriptor);
        }

        /// <summary>An idle connection, or -1. A descriptor closed and reused since it was put is skipped.</summary>
        public static int Take()
        {
            while (Descriptors.TryPop(out var descriptor))
            {
                if (ReferenceEquals(ByDescriptor[descriptor], Marker))
                {
                    ByDescriptor[descriptor] = null;
                    return descriptor;
                }
            }

            return -1;
        }

        public void OnEvent(int descriptor, uint events)
        {
            ByDescriptor[descriptor] = null;
            Close(descriptor);
        }
    }

    /// <summary>
    /// A TCP relay in both directions, one 16 KiB buffer each: what the router's host_port relay does, without its
    /// limits, timeouts and metrics. A direction that cannot send all it read stops reading until the rest is out;
    /// an end of stream is passed on as a half-close, and the pair closes once both directions have ended.
    /// </summary>
    private sealed class RelayPair(int client, int server, bool connected) : IPair
    {
        private readonly Direction _up = new(client, server);
        private readonly Direction _down = new(server, client);
        private bool _connected = connected;
        private bool _closed;

        public void OnEvent(int descriptor, uint events)
        {
            if ((events & EpollErr) != 0)
            {
                Shut();
                return;
            }

            if (descriptor == server && (events & EpollOut) != 0)
            {
                _connected = true;
            }

            if ((events & Readable) != 0)
            {
                var input = descriptor == client ? _up : _down;
                input.Drained = false;
                input.PeerClosed |= (events & PeerClosed) != 0;
            }

            if (!_connected)
            {
                return;
            }

            // Either edge may let either direction go on: readable input, or room for output held back.
            if (!Pump(_up) || !Pump(_down))
            {
                Shut();
                return;
            }

            if (_up.Ended && _down.Ended)
            {
                Shut();
            }
        }

        /// <summary>Moves what the direction's input has to its output; false on an error.</summary>
        private static bool Pump(Direction direction)
        {
            while (!direction.Ended)
            {
                if (direction.Sent < direction.Length)
                {
                    var sent = SendRest(direction.To, direction.Buffer, ref direction.Sent, direction.Length);
                    if (sent <= 0)
                    {
                        return sent == 0;
                    }
                }

                if (direction.Drained)
                {
                    return true;
                }

                var read = (int)Recv(direction.From, direction.Buffer, Direction.Capacity, 0);
                if (read > 0)
                {
                    direction.Length = read;
                    direction.Sent = 0;
                    direction.Drained = read < Direction.Capacity && !direction.PeerClosed;
                }
                else if (read == 0)
                {
                    direction.Ended = true;
                    _ = Shutdown(direction.To, ShutWrite);
                }
                else if (Marshal.GetLastPInvokeError() == EAgain)
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

        private void Shut()
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            ByDescriptor[client] = null;
            ByDescriptor[server] = null;
            Close(client);
            Close(server);
            _up.Free();
            _down.Free();
        }

        private sealed class Direction(int from, int to)
        {
            public const int Capacity = 16 * 1024;

            public int From { get; } = from;

            public int To { get; } = to;

            public byte* Buffer { get; } = Blocks.Take(Capacity);

            public int Length { get; set; }

            // A field, so that SendRest can move it on.
            public int Sent;

            /// <summary>The last receive read less than it could: wait for the next edge before reading again.</summary>
            public bool Drained { get; set; }

            /// <summary>The input's peer has closed: read on to the end of the stream.</summary>
            public bool PeerClosed { get; set; }

            public bool Ended { get; set; }

            public void Free() => Blocks.Return(Capacity, Buffer);
        }
    }

    /// <summary>
    /// Sends <paramref name="buffer"/> from <paramref name="sent"/> up to <paramref name="length"/>: 1 once all is
    /// out, 0 when the socket is full (its next edge says when to go on), -1 on an error.
    /// </summary>
    private static int SendRest(int descriptor, byte* buffer, ref int sent, int length)
    {
        while (sent < length)
        {
            var count = (int)Send(descriptor, buffer + sent, length - sent, MsgNoSignal);
            if (count > 0)
            {
                sent += count;
            }
            else
            {
                return count < 0 && Marshal.GetLastPInvokeError() == EAgain ? 0 : -1;
            }
        }

        return 1;
    }

    /// <summary>
    /// Buffers kept for the next connection, by size: allocating and freeing them per connection made the C library
    /// move the heap's end (a <c>brk</c> per connection) and the kernel fault fresh pages in.
    /// </summary>
    private static class Blocks
    {
        private static readonly Dictionary<int, Stack<nint>> Free = [];

        public static byte* Take(int size) =>
            Free.TryGetValue(size, out var free) && free.TryPop(out var block) ? (byte*)block : (byte*)NativeMemory.Alloc((nuint)size);

        public static void Return(int size, byte* block)
        {
            if (!Free.TryGetValue(size, out var free))
            {
                Free[size] = free = new Stack<nint>();
            }

            free.Push((nint)block);
        }
    }

    private static SockAddrIn Loopback(int port) => new()
    {
        Family = AfInet,
        Port = BinaryPrimitives.ReverseEndianness((ushort)port),
        Address = BinaryPrimitives.ReverseEndianness(0x7F000001u),
    };

    private static void SetOption(int descriptor, int level, int name)
    {
        var on = 1;
        Check(SetSockOpt(descriptor, level, name, &on, sizeof(int)), "setsockopt");
    }

    private static void Register(int epoll, int descriptor, uint events)
    {
        var registration = new EpollEvent { Events = events, Data = (ulong)descriptor };
        Check(EpollCtl(epoll, EpollCtlAdd, descriptor, &registration), "epoll_ctl");
    }

    private static int Check(int result, string call) =>
        result >= 0 ? result : throw new IOException($"{call}: errno {Marshal.GetLastPInvokeError()}");

    [StructLayout(LayoutKind.Sequential)]
    private struct SockAddrIn
    {
        public ushort Family;
        public ushort Port;
        public uint Address;
        public ulong Zero;
    }

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int socket, int level, int name, void* value, uint length);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int Bind(int socket, SockAddrIn* address, uint length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    private static partial int Listen(int socket, int backlog);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4(int socket, void* address, void* length, int flags);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int Connect(int socket, SockAddrIn* address, uint length);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epoll, int operation, int descriptor, EpollEvent* registration);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epoll, EpollEvent* events, int capacity, int timeout);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(int socket, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint Send(int socket, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int Shutdown(int socket, int how);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
