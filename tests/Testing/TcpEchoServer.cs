using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Router.Testing;

/// <summary>
/// A real TCP backend on 127.0.0.1: sends its name and a newline, then echoes every byte back; when the
/// client half-closes, it finishes echoing and half-closes too.
/// </summary>
public sealed class TcpEchoServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _cts = new();
    private int _connections;

    private TcpEchoServer(string name)
    {
        Name = name;
        _listener = Ports.ListenLoopback();
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _ = AcceptAsync();
    }

    public string Name { get; }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public int Connections => Volatile.Read(ref _connections);

    public static TcpEchoServer Start(string name) => new(name);

    public ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task AcceptAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_cts.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            _ = EchoAsync(client);
        }
    }

    private async Task EchoAsync(Socket client)
    {
        using var _ = client;
        var buffer = new byte[64 * 1024];
        try
        {
            await client.SendAsync(Encoding.ASCII.GetBytes(Name + "\n"), _cts.Token);
            while (true)
            {
                var read = await client.ReceiveAsync(buffer, _cts.Token);
                if (read == 0)
                {
                    client.Shutdown(SocketShutdown.Send);
                    return;
                }

                var sent = 0;
                while (sent < read)
                {
                    sent += await client.SendAsync(buffer.AsMemory(sent, read - sent), _cts.Token);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
