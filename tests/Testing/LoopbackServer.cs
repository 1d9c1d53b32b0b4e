using System.Net;
using System.Net.Sockets;

namespace Router.Testing;

/// <summary>
/// A real server on 127.0.0.1 for tests: the listener on a free port and the accept loop that hands each
/// connection to <see cref="ServeAsync"/> on its own; disposing stops accepting and cancels <see cref="Stopping"/>.
/// </summary>
public abstract class LoopbackServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _cts = new();

    protected LoopbackServer()
    {
        _listener = Ports.ListenLoopback();
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Cancelled when the server is disposed: every connection's work ends with it.</summary>
    protected CancellationToken Stopping => _cts.Token;

    public ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Called by the derived constructor once its own fields are set, so no connection sees them unset.</summary>
    protected void StartAccepting() => _ = AcceptAsync();

    /// <summary>Serves one accepted connection; owns <paramref name="client"/> and disposes it.</summary>
    protected abstract Task ServeAsync(Socket client);

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

            _ = ServeAsync(client);
        }
    }
}
