using System.Net;
using System.Net.Sockets;

namespace Router.Routing;

/// <summary>
/// The one connect to a backend, for every path: YARP's client (its ConnectCallback), the direct HTTP/1.1 path and
/// the relays (TCP host_port, TLS passthrough). A backend that does not accept within <see cref="ConnectTimeout"/>
/// is as good as dead: the caller tries the next host.
/// </summary>
internal static class BackendSocket
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A connected socket with Nagle off (request heads and relayed bytes go out as they are written). A connect
    /// that takes longer than <see cref="ConnectTimeout"/> throws a <see cref="SocketException"/> with
    /// <see cref="SocketError.TimedOut"/>, like a refused one, so callers see one kind of failure;
    /// <paramref name="cancellationToken"/> (the client leaving) throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async ValueTask<Socket> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken)
    {
        // A DnsEndPoint (a backend named by host name) gets a dual-mode socket, which connects to IPv4 and IPv6 alike.
        var socket = endPoint is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ConnectTimeout);
            try
            {
                await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SocketException((int)SocketError.TimedOut);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
