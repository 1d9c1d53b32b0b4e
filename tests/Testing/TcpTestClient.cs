using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Router.Testing;

/// <summary>A TCP client for tests: connect, read the echo server's name line, exchange bytes.</summary>
public sealed class TcpTestClient : IDisposable
{
    private TcpTestClient(Socket socket)
    {
        Socket = socket;
    }

    public Socket Socket { get; }

    public static async Task<TcpTestClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return new TcpTestClient(socket);
    }

    /// <summary>Connects to <paramref name="address"/> (IPv4 or IPv6 loopback, to reach a dual-mode listener either way).</summary>
    public static async Task<TcpTestClient> ConnectToAsync(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(address, port), timeout.Token);
        return new TcpTestClient(socket);
    }

    /// <summary>Connects from a chosen loopback source address (e.g. 127.0.0.2, to be inside or outside the internal networks).</summary>
    public static async Task<TcpTestClient> ConnectFromAsync(IPAddress source, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Bind(new IPEndPoint(source, 0));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return new TcpTestClient(socket);
    }

    /// <summary>Reads one line (the echo server's name); empty when the connection closed first.</summary>
    public async Task<string> ReadLineAsync()
    {
        var line = new StringBuilder();
        var one = new byte[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var read = await Socket.ReceiveAsync(one, timeout.Token);
            if (read == 0 || one[0] == '\n')
            {
                return line.ToString();
            }

            line.Append((char)one[0]);
        }
    }

    /// <summary>Sends <paramref name="data"/> and reads the same number of bytes back.</summary>
    public async Task<byte[]> RoundTripAsync(byte[] data)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var send = Socket.SendAsync(data, timeout.Token).AsTask();
        var received = new byte[data.Length];
        var total = 0;
        while (total < data.Length)
        {
            var read = await Socket.ReceiveAsync(received.AsMemory(total), timeout.Token);
            if (read == 0)
            {
                throw new IOException($"connection closed after {total} of {data.Length} bytes");
            }

            total += read;
        }

        await send;
        return received;
    }

    /// <summary>Reads until the other side closes; returns what came.</summary>
    public async Task<byte[]> ReadToEndAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await Socket.ReceiveAsync(buffer, timeout.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                return all.ToArray();
            }

            if (read == 0)
            {
                return all.ToArray();
            }

            all.Write(buffer, 0, read);
        }
    }

    public void Dispose() => Socket.Dispose();
}
