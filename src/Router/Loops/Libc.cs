using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Router.Loops;

/// <summary>
/// The Linux calls the event loop makes itself: epoll, eventfd and non-blocking sockets. Each returns what the
/// kernel returned; a negative result's errno comes from <see cref="Marshal.GetLastPInvokeError"/>.
/// </summary>
internal static unsafe partial class Libc
{
    public const int AfInet = 2;
    public const int AfInet6 = 10;
    public const int SockStream = 1;
    public const int SockNonBlock = 0x800;
    public const int SockCloexec = 0x80000;
    public const int SolSocket = 1;
    public const int SoError = 4;
    public const int IpProtoTcp = 6;
    public const int TcpNoDelay = 1;

    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const uint EpollIn = 0x1;
    public const uint EpollOut = 0x4;
    public const uint EpollErr = 0x8;
    public const uint EpollHup = 0x10;
    public const uint EpollRdHup = 0x2000;

    /// <summary>Only one of the loops waiting on a listener wakes for a new connection (Linux 4.5).</summary>
    public const uint EpollExclusive = 1u << 28;
    public const uint EpollEt = 1u << 31;

    public const int MsgPeek = 0x2;
    public const int MsgDontWait = 0x40;
    public const int MsgNoSignal = 0x4000;
    public const int ShutWrite = 1;
    public const int ShutReadWrite = 2;

    public const int EIntr = 4;
    public const int EAgain = 11;
    public const int ENoMem = 12;
    public const int ENFile = 23;
    public const int EMFile = 24;
    public const int ENoBufs = 105;
    public const int ETimedOut = 110;
    public const int EInProgress = 115;

    /// <summary>Room for either address family (sockaddr_storage).</summary>
    public const int AddressCapacity = 128;

    public static int LastError => Marshal.GetLastPInvokeError();

    public static bool TrySetNoDelay(int descriptor)
    {
        var on = 1;
        return SetSockOpt(descriptor, IpProtoTcp, TcpNoDelay, &on, sizeof(int)) == 0;
    }

    /// <summary>The error a non-blocking connect ended with (0 when it connected), or the errno of the call itself.</summary>
    public static int PendingError(int descriptor)
    {
        int error;
        var length = (uint)sizeof(int);
        return GetSockOpt(descriptor, SolSocket, SoError, &error, &length) == 0 ? error : LastError;
    }

    /// <summary>
    /// How a non-blocking connect ended, once epoll reported on it: 0 when it connected, else the errno. With an error
    /// reported, a one-byte peek looks first: bytes waiting mean the host accepted and then reset (a refusal with a
    /// greeting), and the connect counts as made so that they are passed on. The peek's own failure is the connect's
    /// error (a receive hands over the pending error and clears it, so SO_ERROR would read 0 after it).
    /// </summary>
    public static int ConnectOutcome(int descriptor, bool errorReported)
    {
        if (!errorReported)
        {
            return PendingError(descriptor);
        }

        byte one;
        var peeked = Recv(descriptor, &one, 1, MsgPeek | MsgDontWait);
        if (peeked >= 0)
        {
            return 0;
        }

        var error = LastError;
        return error == EAgain ? PendingError(descriptor) : error;
    }

    /// <summary>Writes <paramref name="endPoint"/> as a sockaddr; its length.</summary>
    public static int WriteAddress(IPEndPoint endPoint, byte* address)
    {
        new Span<byte>(address, AddressCapacity).Clear();
        var port = (ushort)IPAddress.HostToNetworkOrder((short)endPoint.Port);
        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            *(ushort*)address = AfInet;
            *(ushort*)(address + 2) = port;
            _ = endPoint.Address.TryWriteBytes(new Span<byte>(address + 4, 4), out _);
            return 16;
        }

        *(ushort*)address = AfInet6;
        *(ushort*)(address + 2) = port;
        _ = endPoint.Address.TryWriteBytes(new Span<byte>(address + 8, 16), out _);
        *(uint*)(address + 24) = (uint)endPoint.Address.ScopeId;
        return 28;
    }

    /// <summary>
    /// The address in a sockaddr that accept filled in, as <see cref="Socket.RemoteEndPoint"/> gives it (a dual-mode
    /// listener's IPv4 clients as IPv4-mapped IPv6); null for another family.
    /// </summary>
    public static IPAddress? ReadAddress(byte* address) => *(ushort*)address switch
    {
        AfInet => new IPAddress(new ReadOnlySpan<byte>(address + 4, 4)),
        AfInet6 => new IPAddress(new ReadOnlySpan<byte>(address + 8, 16), *(uint*)(address + 24)),
        _ => null,
    };

    /// <summary>The address and port in a sockaddr (as <see cref="ReadAddress"/>); null for another family.</summary>
    public static IPEndPoint? ReadEndPoint(byte* address) => ReadAddress(address) is { } ip
        ? new IPEndPoint(ip, (ushort)IPAddress.NetworkToHostOrder(*(short*)(address + 2)))
        : null;

    /// <summary>The local address and port of a connected socket; null when getsockname fails.</summary>
    public static IPEndPoint? LocalEndPoint(int descriptor)
    {
        var address = stackalloc byte[AddressCapacity];
        var length = (uint)AddressCapacity;
        return GetSockName(descriptor, address, &length) == 0 ? ReadEndPoint(address) : null;
    }

    /// <summary>What strerror says for <paramref name="error"/>: the reason logged for a failed connect.</summary>
    public static string Describe(int error) => Marshal.GetPInvokeErrorMessage(error);

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int socket, int level, int name, void* value, uint length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int socket, int level, int name, void* value, uint* length);

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int socket, byte* address, uint* length);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int socket, byte* address, uint* length, int flags);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int socket, byte* address, uint length);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epoll, int operation, int descriptor, EpollEvent* registration);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epoll, EpollEvent* events, int capacity, int timeout);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int descriptor, void* buffer, nint length);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int descriptor, void* buffer, nint length);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int socket, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int socket, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int socket, int how);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int descriptor);
}
