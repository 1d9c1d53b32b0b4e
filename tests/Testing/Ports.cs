using System.Net;
using System.Net.Sockets;

namespace Router.Testing;

/// <summary>Free loopback ports, found by binding port 0 and releasing it.</summary>
public static class Ports
{
    public static int FreeTcp()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A TCP listener on 127.0.0.1 and a port the system picked, already listening.</summary>
    public static Socket ListenLoopback()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(128);
        return listener;
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
