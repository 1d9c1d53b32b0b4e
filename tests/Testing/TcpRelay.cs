using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Router.Testing;

/// <summary>
/// A TCP relay on a loopback port to a target, that a test can cut (every connection closed, nothing
/// accepted) and restore on the same port: a network outage without stopping the server behind it.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly List<Socket> _open = [];
    private readonly List<StrongBox<bool>> _stalls = [];
    private readonly Lock _gate = new();
    private Socket? _listener;
    private CancellationTokenSource _cts = new();

    public TcpRelay(IPEndPoint target)
    {
        _target = target;
        Port = Ports.FreeTcp();
        Restore();
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Closes every relayed connection and stops accepting new ones.</summary>
    public void Cut()
    {
        lock (_gate)
        {
            _cts.Cancel();
            _listener?.Dispose();
            _listener = null;
            foreach (var socket in _open)
            {
                socket.Dispose();
            }

            _open.Clear();
        }
    }

    /// <summary>
    /// The connections open now stay open but carry nothing more either way (bytes are read and dropped): a
    /// stream that goes silent without an error. New connections relay as usual.
    /// </summary>
    public void Stall()
    {
        lock (_gate)
        {
            foreach (var stall in _stalls)
            {
                stall.Value = true;
            }
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public void Restore()
    {
        lock (_gate)
        {
            if (_listener is not null)
            {
                return;
            }

            _cts = new CancellationTokenSource();
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, Port));
            listener.Listen(128);
            _listener = listener;
            _ = AcceptAsync(listener, _cts.Token);
        }
    }

    public ValueTask DisposeAsync()
    {
        Cut();
        return ValueTask.CompletedTask;
    }

    private async Task AcceptAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            _ = RelayAsync(client, cancellationToken);
        }
    }

    private async Task RelayAsync(Socket client, CancellationToken cancellationToken)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var stalled = new StrongBox<bool>();
        lock (_gate)
        {
            _open.Add(client);
            _open.Add(server);
            _stalls.Add(stalled);
        }

        try
        {
            await server.ConnectAsync(_target, cancellationToken);
            await Task.WhenAny(PumpAsync(client, server, stalled, cancellationToken), PumpAsync(server, client, stalled, cancellationToken));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _stalls.Remove(stalled);
            }

            client.Dispose();
            server.Dispose();
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, StrongBox<bool> stalled, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                if (!stalled.Value)
                {
                    await to.SendAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
