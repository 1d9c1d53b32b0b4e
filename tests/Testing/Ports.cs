using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Router.Testing;

/// <summary>
/// Free loopback ports, found by binding port 0 and releasing it. A port is handed out once per test process:
/// the kernel may give a just-released port to the next bind, and classes running in parallel would then
/// start two servers on it.
/// </summary>
public static class Ports
{
    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    public static int FreeTcp()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, true))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no free port on 127.0.0.1 that this process has not handed out before");
    }

    /// <summary>
    /// A free port below Linux's ephemeral range (32768–60999 by default), for a server that must restart on
    /// the same port (an etcd member whose URL is in the cluster's configuration): a port from the ephemeral
    /// range can be taken meanwhile as the local port of any process's outgoing connection.
    /// </summary>
    public static int FreeTcpForRestarts()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20000, 32768);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                if (HandedOut.TryAdd(port, true))
                {
                    return port;
                }
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no free port between 20000 and 32767 on 127.0.0.1");
    }

    /// <summary>A TCP listener on 127.0.0.1 and a port the system picked, already listening.</summary>
    public static Socket ListenLoopback()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(128);
        return listener;
    }

    /// <summary>
    /// A port free for both TCP and UDP below the ephemeral range, for a DNS listener that must bind it later
    /// (after something else let it go): see <see cref="FreeTcpForRestarts"/>.
    /// </summary>
    public static int FreeTcpAndUdpForRestarts()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = FreeTcpForRestarts();
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no port below the ephemeral range free for both TCP and UDP on 127.0.0.1");
    }

    /// <summary>A port free for both TCP and UDP (DNS listens on both).</summary>
    public static int FreeTcpAndUdp()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = FreeTcp();
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no port free for both TCP and UDP on 127.0.0.1");
    }
}
