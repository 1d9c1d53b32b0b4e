using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Router.Loops;

/// <summary>
/// A Kestrel transport on the router's own <see cref="EventLoops"/>, for the shared HTTP port only (every other
/// endpoint stays on Kestrel's socket transport): accept, receive and send are the loops' system calls, and the
/// connection's handlers (the direct path, else Kestrel's HTTP layer) run inline on the loop that received the
/// request. A backend connection the direct path opens there is a <see cref="LoopSocket"/> on the same loop, so a
/// proxied request never leaves the loop's thread. <c>--http-transport epoll</c>; Linux only.
/// </summary>
internal sealed class LoopTransport(EventLoops loops, IPEndPoint http, ILoggerFactory loggerFactory) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    /// <summary>Kestrel asks each transport in turn, the last registered first: this one takes the HTTP port alone.</summary>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint ip && ip.Equals(http);

    /// <summary>
    /// The HTTP port's first connection middleware: Kestrel starts each connection's handlers on the thread pool, and
    /// this moves them to the connection's loop, so that its requests, the backend connections they open (each
    /// loop has its own in the pool) and its sends all stay on that loop's thread.
    /// </summary>
    public static ConnectionDelegate OnItsLoop(ConnectionDelegate next) => connection =>
        connection is LoopConnection { Loop: { IsCurrent: false } loop } ? SwitchAsync(loop, connection, next) : next(connection);

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IConnectionListener>(LoopListener.Bind(loops, (IPEndPoint)endpoint, loggerFactory.CreateLogger<LoopTransport>()));

    private static async Task SwitchAsync(EventLoop loop, ConnectionContext connection, ConnectionDelegate next)
    {
        await loop.SwitchTo();
        await next(connection).ConfigureAwait(false);
    }
}

/// <summary>The HTTP port's listening socket, waited on by every loop; Kestrel takes the accepted connections from here.</summary>
internal sealed partial class LoopListener : IConnectionListener, IAcceptOwner
{
    // How often a failing accept may be logged: a flood costs a line per interval, as on the TCP host_ports.
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly LoopAcceptor[] _acceptors;
    private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private readonly LogThrottle _acceptFailedLog = new(TimeProvider.System, LogInterval);
    private int _unbound;

    private LoopListener(Socket socket, IReadOnlyList<EventLoop> loops, ILogger logger)
    {
        _socket = socket;
        _logger = logger;
        EndPoint = socket.LocalEndPoint!;
        var descriptor = (int)socket.Handle;
        _acceptors = [.. loops.Select(loop => new LoopAcceptor(loop, descriptor, this))];
        foreach (var acceptor in _acceptors)
        {
            acceptor.Start();
        }
    }

    public EndPoint EndPoint { get; }

    public static LoopListener Bind(EventLoops loops, IPEndPoint endPoint, ILogger logger)
    {
        Socket socket;
        try
        {
            socket = LoopAcceptor.Listen(endPoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            // Kestrel's own message for a port in use.
            throw new AddressInUseException(e.Message, e);
        }

        // The loops accept until accept finds nothing: a blocking accept would stop a loop.
        socket.Blocking = false;
        return new LoopListener(socket, loops.All, logger);
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public void Accepted(EventLoop loop, int client, nint address)
    {
        if (Volatile.Read(ref _unbound) != 0)
        {
            _ = Libc.Close(client);
            return;
        }

        var connection = LoopConnection.Start(loop, client, ReadRemote(address));
        if (connection is null)
        {
            ReportAcceptFailed(Libc.Describe(Libc.LastError));
            return;
        }

        if (!_accepted.Writer.TryWrite(connection))
        {
            connection.Abort(new ConnectionAbortedException("the listener is closed"));
            _ = connection.DisposeAsync().AsTask();
        }
    }

    public void ReportAcceptFailed(string reason)
    {
        if (_acceptFailedLog.TryEnter(out var suppressed))
        {
            Log.AcceptFailed(_logger, EndPoint.ToString()!, reason, suppressed);
        }
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _unbound, 1) != 0)
        {
            return;
        }

        // The listening socket closes only once no loop waits on it any more (see LoopAcceptor.StopAsync).
        await Task.WhenAll(_acceptors.Select(a => a.StopAsync())).ConfigureAwait(false);
        _socket.Dispose();
        _accepted.Writer.TryComplete();
    }

    public ValueTask DisposeAsync() => UnbindAsync();

    private static unsafe IPEndPoint? ReadRemote(nint address) => Libc.ReadEndPoint((byte*)address);

    private static partial class Log
    {
        [LoggerMessage(EventIds.HttpLoopAcceptFailed, LogLevel.Warning, "HTTP port {EndPoint}: accept failed ({Reason}); {Suppressed} more failures since the last line")]
        public static partial void AcceptFailed(ILogger logger, string endPoint, string reason, int suppressed);
    }
}
