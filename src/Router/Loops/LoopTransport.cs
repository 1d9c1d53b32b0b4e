using System.Collections.Concurrent;
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
/// <param name="first">
/// The handler that serves each connection first, on its loop, before Kestrel sees it (the direct path); it hands a
/// connection on to Kestrel by calling the delegate it wraps. Null: every connection goes to Kestrel at once.
/// </param>
/// <param name="limit">Open connections at most (--max-http-connections); one more is closed as it is accepted.</param>
internal sealed class LoopTransport(EventLoops loops, IPEndPoint http, ILoggerFactory loggerFactory, Func<ConnectionDelegate, ConnectionDelegate>? first = null, int? limit = null)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
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
        ValueTask.FromResult<IConnectionListener>(LoopListener.Bind(loops, (IPEndPoint)endpoint, first, limit, loggerFactory.CreateLogger<LoopTransport>()));

    private static async Task SwitchAsync(EventLoop loop, ConnectionContext connection, ConnectionDelegate next)
    {
        await loop.SwitchTo();
        await next(connection).ConfigureAwait(false);
    }
}

/// <summary>
/// The HTTP port's listening socket, waited on by every loop. With a first handler, each accepted connection is served
/// by it on its loop, and Kestrel (through <see cref="AcceptAsync"/>) takes only the connections it hands on: a
/// client that sends plain GETs, one per connection or kept alive, never costs a hop to Kestrel's accept loop and
/// thread pool. Without one, Kestrel takes every connection. This listener, not Kestrel, then holds what Kestrel
/// would for the connections it has not seen: their limit, and their orderly close when the server stops.
/// </summary>
internal sealed partial class LoopListener : IConnectionListener, IAcceptOwner
{
    // How often a failing accept may be logged: a flood costs a line per interval, as on the TCP host_ports.
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    // How long a stop waits, past the shutdown timeout, for handlers that were aborted to end.
    private static readonly TimeSpan AbortedGrace = TimeSpan.FromSeconds(1);

    private readonly Socket _socket;
    private readonly LoopAcceptor[] _acceptors;
    private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;
    private readonly LogThrottle _acceptFailedLog = new(TimeProvider.System, LogInterval);
    private readonly LogThrottle _limitLog = new(TimeProvider.System, LogInterval);
    private readonly ConnectionDelegate? _first;
    private readonly int? _limit;
    private readonly Action _closedOne;
    private readonly ConcurrentDictionary<LoopConnection, byte> _serving = new();
    private readonly TaskCompletionSource _servedAll = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _abortAtDeadline;
    private CancellationToken _deadline;
    private int _open;
    private int _unbound;

    private LoopListener(Socket socket, IReadOnlyList<EventLoop> loops, Func<ConnectionDelegate, ConnectionDelegate>? first, int? limit, ILogger logger)
    {
        _socket = socket;
        _logger = logger;
        _first = first?.Invoke(HandOn);
        _limit = limit;
        _closedOne = () => Interlocked.Decrement(ref _open);
        EndPoint = socket.LocalEndPoint!;
        var descriptor = (int)socket.Handle;
        _acceptors = [.. loops.Select(loop => new LoopAcceptor(loop, descriptor, this))];
        foreach (var acceptor in _acceptors)
        {
            acceptor.Start();
        }
    }

    public EndPoint EndPoint { get; }

    public static LoopListener Bind(EventLoops loops, IPEndPoint endPoint, Func<ConnectionDelegate, ConnectionDelegate>? first, int? limit, ILogger logger)
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
        return new LoopListener(socket, loops.All, first, limit, logger);
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

        if (!TryTakePlace())
        {
            // As Kestrel at its MaxConcurrentConnections: closed before a byte is read.
            _ = Libc.Close(client);
            if (_limitLog.TryEnter(out var refused))
            {
                Log.LimitReached(_logger, EndPoint.ToString()!, _limit!.Value, refused);
            }

            return;
        }

        var connection = LoopConnection.Start(loop, client, ReadRemote(address), _closedOne);
        if (connection is null)
        {
            _closedOne();
            ReportAcceptFailed(Libc.Describe(Libc.LastError));
            return;
        }

        if (_first is not null)
        {
            _ = ServeFirstAsync(connection);
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

    /// <summary>
    /// Kestrel's first step when the server stops: no connection is accepted from here on, and the ones the first
    /// handler still serves are asked to close between requests, as Kestrel then asks its own; those still open when
    /// <paramref name="cancellationToken"/> fires (the host's shutdown timeout) are aborted, as Kestrel aborts its own.
    /// </summary>
    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _unbound, 1) != 0)
        {
            return;
        }

        // The listening socket closes only once no loop waits on it any more (see LoopAcceptor.StopAsync); from
        // then on no connection is added to those served here.
        await Task.WhenAll(_acceptors.Select(a => a.StopAsync())).ConfigureAwait(false);
        _socket.Dispose();
        _accepted.Writer.TryComplete();
        foreach (var connection in _serving.Keys)
        {
            connection.RequestClose();
        }

        _deadline = cancellationToken;
        _abortAtDeadline = cancellationToken.Register(static s => ((LoopListener)s!).AbortServing(), this);
        CheckServedAll();
    }

    /// <summary>
    /// Kestrel's last step when the server stops, once its own connections are closed: the first handler's are waited
    /// for too, as long as Kestrel waits for its own (until the shutdown timeout, when they are aborted).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);
        try
        {
            await _servedAll.Task.WaitAsync(_deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await Task.WhenAny(_servedAll.Task, Task.Delay(AbortedGrace)).ConfigureAwait(false);
        }

        await _abortAtDeadline.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Takes a place under the limit, as the TCP relays take theirs; false when none is left.</summary>
    private bool TryTakePlace()
    {
        if (Interlocked.Increment(ref _open) <= (_limit ?? int.MaxValue))
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Serves a connection with the first handler, on its loop; closes it after, unless it was handed on to Kestrel.</summary>
    private async Task ServeFirstAsync(LoopConnection connection)
    {
        _serving.TryAdd(connection, 0);
        try
        {
            try
            {
                await _first!(connection).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Kestrel logs and closes a connection whose handler throws; so does this, unless Kestrel has it already.
                Log.ConnectionFailed(_logger, connection.ConnectionId, e);
                if (!connection.HandedOn)
                {
                    connection.Abort(new ConnectionAbortedException("the connection's handler failed", e));
                }
            }

            if (!connection.HandedOn)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            Log.ConnectionFailed(_logger, connection.ConnectionId, e);
        }
        finally
        {
            _serving.TryRemove(connection, out _);
            CheckServedAll();
        }
    }

    /// <summary>The first handler's way on to Kestrel: the connection is Kestrel's from here, unless the listener is closed.</summary>
    private Task HandOn(ConnectionContext connection)
    {
        var loopConnection = (LoopConnection)connection;
        loopConnection.HandedOn = true;
        if (!_accepted.Writer.TryWrite(loopConnection))
        {
            // The server is stopping and Kestrel accepts no more: the connection closes once the handler returns.
            loopConnection.HandedOn = false;
        }

        return Task.CompletedTask;
    }

    private void CheckServedAll()
    {
        if (Volatile.Read(ref _unbound) != 0 && _serving.IsEmpty)
        {
            _servedAll.TrySetResult();
        }
    }

    private void AbortServing()
    {
        foreach (var connection in _serving.Keys)
        {
            connection.Abort(new ConnectionAbortedException("the server is stopping"));
        }
    }

    private static unsafe IPEndPoint? ReadRemote(nint address) => Libc.ReadEndPoint((byte*)address);

    private static partial class Log
    {
        [LoggerMessage(EventIds.HttpLoopAcceptFailed, LogLevel.Warning, "HTTP port {EndPoint}: accept failed ({Reason}); {Suppressed} more failures since the last line")]
        public static partial void AcceptFailed(ILogger logger, string endPoint, string reason, int suppressed);

        [LoggerMessage(EventIds.HttpConnectionLimitReached, LogLevel.Warning, "HTTP port {EndPoint}: {Limit} connections open, the limit (--max-http-connections); new ones are closed at once; {Suppressed} more refused since the last line")]
        public static partial void LimitReached(ILogger logger, string endPoint, int limit, int suppressed);

        [LoggerMessage(EventIds.HttpLoopConnectionFailed, LogLevel.Error, "Connection {ConnectionId}: its handler failed")]
        public static partial void ConnectionFailed(ILogger logger, string connectionId, Exception exception);
    }
}
