using System.Net.Sockets;

namespace Router.Loops;

/// <summary>Linux errno values as <see cref="SocketError"/>, so a <see cref="LoopSocket"/> fails as a <see cref="Socket"/> does.</summary>
internal static class Errors
{
    public static SocketError ToSocketError(int errno) => errno switch
    {
        1 or 13 => SocketError.AccessDenied,               // EPERM, EACCES
        24 or 23 => SocketError.TooManyOpenSockets,        // EMFILE, ENFILE
        32 => SocketError.Shutdown,                        // EPIPE
        98 => SocketError.AddressAlreadyInUse,             // EADDRINUSE
        99 => SocketError.AddressNotAvailable,             // EADDRNOTAVAIL
        100 => SocketError.NetworkDown,                    // ENETDOWN
        101 => SocketError.NetworkUnreachable,             // ENETUNREACH
        103 => SocketError.ConnectionAborted,              // ECONNABORTED
        104 => SocketError.ConnectionReset,                // ECONNRESET
        105 or 12 => SocketError.NoBufferSpaceAvailable,   // ENOBUFS, ENOMEM
        107 => SocketError.NotConnected,                   // ENOTCONN
        110 => SocketError.TimedOut,                       // ETIMEDOUT
        111 => SocketError.ConnectionRefused,              // ECONNREFUSED
        112 or 113 => SocketError.HostUnreachable,         // EHOSTDOWN, EHOSTUNREACH
        _ => SocketError.SocketError,
    };
}
