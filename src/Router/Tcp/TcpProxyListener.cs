using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Router.Loops;
using Router.Metrics;
using Router.Registry;
using Router.Routing;

namespace Router.Tcp;

/// <summary>
/// A raw TCP relay for a <c>tcp</c> service: one connection to one usable host (a refused or timed-out connect
/// tries the next), copied both ways, half-close passed through. A connection is counted against the limits the
/// moment it is accepted (before the backend connect), so a burst cannot slip past them; an idle relay holds no
/// buffer. On Linux the relays run on the router's own event loops (<see cref="LoopRelay"/>); elsewhere, or with
/// <c>--tcp-relay sockets</c>, on .NET's sockets (an accept loop and a <see cref="Relay"/> per connection).
/// </summary>
internal sealed partial class TcpProxyListener : IPortListener, IDisposable, IAcceptOwner
{
    // How often a repeated warning (refusals, failed accepts) may be written: a flood costs a line per interval.
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The wait after a failed accept. Out of descriptors (EMFILE/ENFILE) or buffers (ENOBUFS), accept fails
    /// again at once until something closes, so retrying without a pause spins a core and floods the log;
    /// the pause doubles from 5 ms to 1 s while failures go on and is forgotten at the first success.
    /// </summary>
    internal static Backoff NewAcceptBackoff() => LoopAcceptor.NewBackoff();

    // How soon a service turned private closes its outsiders' relays.
    private static readonly TimeSpan PrivacyCheckInterval = TimeSpan.FromSeconds(1);

    private readonly Socket _listener;
    private readonly RouteTableHolder _routes;
    private readonly InternalNetworks _internalNetworks;
    private readonly TcpLimits _limits;
    private readonly TcpServiceCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<IOpenRelay, byte> _relays = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _idleSweep;
    private readonly ITimer _privacyCheck;
    private readonly LogThrottle _refusedLog;
    private readonly LogThrottle _acceptFailedLog;
    private readonly LogThrottle _noHostLog;
    private LoopAcceptor[] _acceptors = [];
    private RouteTable? _checkedTable;
    private int _open;

    private TcpProxyListener(Socket listener, int port, string service, RouteTableHolder routes, InternalNetworks internalNetworks, TcpLimits limits, TimeProvider time, ILogger logger)
    {
        _listener = listener;
        Port = port;
        Service = service;
        _routes = routes;
        _internalNetworks = internalNetworks;
        _limits = limits;
        _counters = limits.Counters.For(service);
        _time = time;
        _logger = logger;
        _refusedLog = new LogThrottle(time, LogInterval);
        _acceptFailedLog = new LogThrottle(time, LogInterval);
        _noHostLog = new LogThrottle(time, LogInterval);
        var sweep = TimeSpan.FromSeconds(Math.Clamp(limits.IdleTimeout.TotalSeconds / 4, 0.25, 30));
        _idleSweep = time.CreateTimer(_ => CloseIdle(), null, sweep, sweep);
        _privacyCheck = time.CreateTimer(_ => CloseOutsidersIfPrivate(), null, PrivacyCheckInterval, PrivacyCheckInterval);
    }

    public int Port { get; }

    public string Service { get; }

    public string Kind => "tcp";

    /// <summary>Admitted connections, those still connecting to a backend included.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    internal RouteTableHolder Routes => _routes;

    internal InternalNetworks InternalNetworks => _internalNetworks;

    internal TimeProvider Time => _time;

    internal TcpServiceCounters Counters => _counters;

    /// <summary>
    /// Binds and starts accepting, on <paramref name="loops"/> when given; a port that cannot be bound throws
    /// <see cref="SocketException"/>.
    /// </summary>
    public static TcpProxyListener Start(IPAddress bind, int port, string service, RouteTableHolder routes, InternalNetworks internalNetworks, TcpLimits limits, TimeProvider time, ILogger logger, EventLoops? loops = null)
    {
        var socket = LoopAcceptor.Listen(new IPEndPoint(bind, port));

        var listener = new TcpProxyListener(socket, port, service, routes, internalNetworks, limits, time, logger);
        if (loops is null)
        {
            _ = listener.AcceptLoopAsync();
        }
        else
        {
            listener.AcceptOnLoops(loops);
        }

        return listener;
    }

    public async Task StopAsync(TimeSpan drain)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        // Every loop stops waiting on the listener before it is closed; nothing to wait for without loops.
        await Task.WhenAll(_acceptors.Select(a => a.StopAsync())).ConfigureAwait(false);
        _listener.Dispose();
        using var deadline = new CancellationTokenSource(drain);
        while (!_relays.IsEmpty && !deadline.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }

        if (!_relays.IsEmpty)
        {
            Log.DrainTimedOut(_logger, Port, Service, _relays.Count);
        }

        foreach (var relay in _relays.Keys)
        {
            relay.Abort();
        }

        Dispose();
    }

    public void Dispose()
    {
        _idleSweep.Dispose();
        _privacyCheck.Dispose();
        _listener.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        // Off the caller's thread from the start: a connection already queued is handled here, not inside Start.
        await Task.Yield();
        var backoff = NewAcceptBackoff();
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                // No token: stopping disposes the listener, which ends the wait (a token costs a registration per accept).
                client = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException
                || (e is SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.Interrupted } && _stopping.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException e)
            {
                // A client that reset before accept, or no descriptor or buffer left (EMFILE, ENFILE, ENOBUFS):
                // the listener goes on, but out of resources it waits first, as accept would fail again at once.
                ReportAcceptFailed(e.Message);

                if (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable
                    && !await PauseAsync(backoff.Next()).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }

            backoff.Reset();
            if (!TryAdmit())
            {
                client.Dispose();
                Refused();
                continue;
            }

            _counters.CountAccepted();

            // Runs on until its first wait (the connect), then frees the accept loop.
            _ = HandleAsync(client);
        }
    }

    /// <summary>Waits before the next accept; false when the listener stops meanwhile.</summary>
    private async Task<bool> PauseAsync(TimeSpan pause)
    {
        try
        {
            await Task.Delay(pause, _time, _stopping.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Counts a connection against the port's limit and the process-wide one; false (nothing counted) when either is full.</summary>
    private bool TryAdmit()
    {
        if (Interlocked.Increment(ref _open) > _limits.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            return false;
        }

        if (!_limits.TryTakeGlobal())
        {
            Interlocked.Decrement(ref _open);
            return false;
        }

        return true;
    }

    /// <summary>Gives back the places <see cref="TryAdmit"/> took, once an admitted connection is closed.</summary>
    internal void Release()
    {
        Interlocked.Decrement(ref _open);
        _limits.ReturnGlobal();
    }

    internal void Track(IOpenRelay relay) => _relays.TryAdd(relay, 0);

    internal void Untrack(IOpenRelay relay) => _relays.TryRemove(relay, out _);

    /// <summary>A connect to <paramref name="destination"/> failed, which set it aside (<paramref name="first"/>: the first failure in a row).</summary>
    internal void ReportConnectFailed(Destination destination, string reason, bool first)
    {
        _counters.CountConnectFailure();
        LogConnectFailed(destination, reason, first);
    }

    internal void ReportHostAnsweringAgain(Destination destination) => Log.HostAnsweringAgain(_logger, Service, destination.Host.Authority);

    internal void ReportNoUsableHost()
    {
        // Every connection meets it while the hosts are down: a line now and then with the count, not one each.
        if (_noHostLog.TryEnter(out var suppressed))
        {
            Log.NoUsableHost(_logger, Port, Service, suppressed);
        }
    }

    public void ReportAcceptFailed(string reason)
    {
        if (_acceptFailedLog.TryEnter(out var suppressed))
        {
            Log.AcceptFailed(_logger, Port, reason, suppressed);
        }
    }

    /// <summary>A connection one of the event loops accepted: admitted and relayed on that loop, or closed at once.</summary>
    public unsafe void Accepted(EventLoop loop, int client, nint address)
    {
        var clientAddress = Libc.ReadAddress((byte*)address);
        if (!TryAdmit())
        {
            _ = Libc.Close(client);
            Refused();
            return;
        }

        _counters.CountAccepted();
        LoopRelay.Start(loop, this, client, clientAddress);
    }

    private void LogConnectFailed(Destination destination, string reason, bool first) =>
        Log.ConnectFailed(_logger, first ? LogLevel.Warning : LogLevel.Debug, Service, destination.Host.Authority, reason);

    /// <summary>Closed at once: a refused connection must cost nothing but the accept.</summary>
    private void Refused()
    {
        _counters.CountRefused();
        if (_refusedLog.TryEnter(out var suppressed))
        {
            Log.TooManyConnections(_logger, Port, Service, _limits.MaxConnections, _limits.MaxConnectionsTotal, suppressed);
        }
    }

    private void AcceptOnLoops(EventLoops loops)
    {
        // The loops call accept4 on the descriptor themselves; the socket only binds, listens and closes it.
        _listener.Blocking = false;
        var descriptor = (int)_listener.Handle;
        _acceptors = [.. loops.All.Select(loop => new LoopAcceptor(loop, descriptor, this))];
        foreach (var acceptor in _acceptors)
        {
            acceptor.Start();
        }
    }

    private async Task HandleAsync(Socket client)
    {
        try
        {
            await RelayAsync(client).ConfigureAwait(false);
        }
        finally
        {
            Release();
        }
    }

    private async Task RelayAsync(Socket client)
    {
        client.NoDelay = true;
        var clientAddress = (client.RemoteEndPoint as IPEndPoint)?.Address;
        if (!_routes.Current.TryGet(Service, out var route) || _internalNetworks.ShutsOut(route.Entry, clientAddress))
        {
            // Private from outside, or gone since accept: closed, as if nothing listened for them.
            client.Dispose();
            return;
        }

        var (server, destination) = await BackendConnector.ConnectAsync(route, _counters, _time, (d, reason, first) => LogConnectFailed(d, reason, first), ReportHostAnsweringAgain).ConfigureAwait(false);
        if (server is null || destination is null)
        {
            ReportNoUsableHost();
            client.Dispose();
            return;
        }

        var relay = new Relay(new SocketRelayEnd(client), new SocketRelayEnd(server), clientAddress, _counters, _time);
        _relays.TryAdd(relay, 0);

        // The host leaving the registry ends the relay once the drain time is over.
        using var retired = destination.Retired.Register(relay.Abort);
        try
        {
            // The service may have turned private while this one connected, after the last check looked.
            if (_routes.Current.TryGet(Service, out var now) && _internalNetworks.ShutsOut(now.Entry, clientAddress))
            {
                relay.Abort();
            }

            await relay.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _relays.TryRemove(relay, out _);
            relay.Dispose();
        }
    }

    private void CloseIdle()
    {
        var now = _time.GetTimestamp();
        foreach (var relay in _relays.Keys)
        {
            if (_time.GetElapsedTime(relay.LastActivity, now) > _limits.IdleTimeout)
            {
                Log.IdleClosed(_logger, Port, Service);
                relay.Abort();
            }
        }
    }

    /// <summary>
    /// Once per new route table: a service that is private now closes the relays of clients outside the
    /// internal networks, which were let in while it was public (DESIGN: private services answer only them).
    /// </summary>
    private void CloseOutsidersIfPrivate()
    {
        var table = _routes.Current;
        if (ReferenceEquals(table, Volatile.Read(ref _checkedTable)))
        {
            return;
        }

        Volatile.Write(ref _checkedTable, table);
        if (!table.TryGet(Service, out var route) || !route.Entry.Private)
        {
            return;
        }

        var closed = 0;
        foreach (var relay in _relays.Keys)
        {
            if (!_internalNetworks.Contains(relay.ClientAddress))
            {
                relay.Abort();
                closed++;
            }
        }

        if (closed > 0)
        {
            Log.OutsidersClosed(_logger, Port, Service, closed);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.TcpRelayConnectFailed, Message = "TCP connect to {Service} host {Host} failed ({Reason}); set aside, trying another")]
        public static partial void ConnectFailed(ILogger logger, LogLevel level, string service, string host, string reason);

        [LoggerMessage(EventIds.TcpRelayHostAnsweringAgain, LogLevel.Information, "TCP {Service} host {Host} answering again; back in use")]
        public static partial void HostAnsweringAgain(ILogger logger, string service, string host);

        [LoggerMessage(EventIds.TcpRelayNoUsableHost, LogLevel.Warning, "Port {Port} ({Service}): no usable host; connection closed ({Suppressed} more since the last line)")]
        public static partial void NoUsableHost(ILogger logger, int port, string service, int suppressed);

        [LoggerMessage(EventIds.TcpRelayTooManyConnections, LogLevel.Warning, "Port {Port} ({Service}): connection limit reached ({Max} per port, {Total} on all ports); new connections refused ({Suppressed} more refusals since the last line)")]
        public static partial void TooManyConnections(ILogger logger, int port, string service, int max, int? total, int suppressed);

        [LoggerMessage(EventIds.TcpRelayAcceptFailed, LogLevel.Warning, "Port {Port}: accept failed ({Error}); {Suppressed} more failures since the last line")]
        public static partial void AcceptFailed(ILogger logger, int port, string error, int suppressed);

        [LoggerMessage(EventIds.TcpRelayIdleClosed, LogLevel.Information, "Port {Port} ({Service}): idle connection closed")]
        public static partial void IdleClosed(ILogger logger, int port, string service);

        [LoggerMessage(EventIds.TcpRelayDrainTimedOut, LogLevel.Warning, "Port {Port} ({Service}): drain time over, closing {Count} connections")]
        public static partial void DrainTimedOut(ILogger logger, int port, string service, int count);

        [LoggerMessage(EventIds.TcpRelayOutsidersClosed, LogLevel.Information, "Port {Port} ({Service}): the service is private now; closed {Count} connections from outside the internal networks")]
        public static partial void OutsidersClosed(ILogger logger, int port, string service, int count);
    }
}
