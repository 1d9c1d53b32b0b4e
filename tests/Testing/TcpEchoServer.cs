using System.Net.Sockets;
using System.Text;

namespace Router.Testing;

/// <summary>
/// A real TCP backend on 127.0.0.1: sends its name and a newline, then echoes every byte back; when the
/// client half-closes, it finishes echoing and half-closes too.
/// </summary>
public sealed class TcpEchoServer : LoopbackServer
{
    private int _connections;

    private TcpEchoServer(string name)
    {
        Name = name;
        StartAccepting();
    }

    public string Name { get; }

    public int Connections => Volatile.Read(ref _connections);

    public static TcpEchoServer Start(string name) => new(name);

    protected override async Task ServeAsync(Socket client)
    {
        Interlocked.Increment(ref _connections);
        using var _ = client;
        var buffer = new byte[64 * 1024];
        try
        {
            await client.SendAsync(Encoding.ASCII.GetBytes(Name + "\n"), Stopping);
            while (true)
            {
                var read = await client.ReceiveAsync(buffer, Stopping);
                if (read == 0)
                {
                    client.Shutdown(SocketShutdown.Send);
                    return;
                }

                var sent = 0;
                while (sent < read)
                {
                    sent += await client.SendAsync(buffer.AsMemory(sent, read - sent), Stopping);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
