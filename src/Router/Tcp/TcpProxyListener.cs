using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Router.Hosting;
using Router.Routing;

namespace Router.Tcp;

/// <summary>
/// A raw TCP relay for a <c>tcp</c> service: a plain socket accept loop, one connection to one usable host
/// (a refused or timed-out connect tries the next), two copy pumps, half-close passed through.
/// </summary>
internal sealed partial class TcpProxyListener : IPortListener, IDisposable
{
    private const int BufferSize = 64 * 1024;
    private const int MaxConnectAttempts = 4;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    private readonly Socket _listener;
    private readonly RouteTableHolder _routes;
    private readonly InternalNetworks _internalNetworks;
    private readonly TcpLimits _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Relay, byte> _relays = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _idleSweep;

    private TcpProxyListener(Socket listener, int port, string service, RouteTableHolder routes, InternalNetworks internalNetworks, TcpLimits limits, TimeProvider time, ILogger logger)
    {
        _listener = listener;
        Port = port;
        Service = service;
        _routes = routes;
        _internalNetworks = internalNetworks;
        _limits = limits;
        _time = time;
        _logger = logger;
        var sweep = TimeSpan.FromSeconds(Math.Clamp(limits.IdleTimeout.TotalSeconds / 4, 0.25, 30));
        _idleSweep = time.CreateTimer(_ => CloseIdle(), null, sweep, sweep);
    }

    public int Port { get; }

    public string Service { get; }

    public string Kind => "tcp";

    public int OpenConnections => _relays.Count;

    /// <summary>Binds and starts accepting; a port that cannot be bound throws <see cref="SocketException"/>.</summary>
    public static TcpProxyListener Start(IPAddress bind, int port, string service, RouteTableHolder routes, InternalNetworks internalNetworks, TcpLimits limits, TimeProvider time, ILogger logger)
    {
        var socket = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Lets a listener come back on a port whose old connections linger in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (bind.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(new IPEndPoint(bind, port));
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new TcpProxyListener(socket, port, service, routes, internalNetworks, limits, time, logger);
        _ = listener.AcceptLoopAsync();
        return listener;
    }

    public async Task StopAsync(TimeSpan drain)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
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
        _listener.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
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
                // A client that reset before accept, or a file-descriptor limit: keep the listener going.
                Log.AcceptFailed(_logger, Port, e.SocketErrorCode);
                continue;
            }

            if (_relays.Count >= _limits.MaxConnections)
            {
                Log.TooManyConnections(_logger, Port, Service, _limits.MaxConnections);
                client.Dispose();
                continue;
            }

            // Runs on until its first wait (the connect), then frees the accept loop.
            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        client.NoDelay = true;
        if (!_routes.Current.TryGet(Service, out var route)
            || (route.Entry.Private && !_internalNetworks.Contains((client.RemoteEndPoint as IPEndPoint)?.Address)))
        {
            // Private from outside, or gone since accept: closed, as if nothing listened for them.
            client.Dispose();
            return;
        }

        var (server, destination) = await ConnectAsync(route).ConfigureAwait(false);
        if (server is null || destination is null)
        {
            Log.NoUsableHost(_logger, Port, Service);
            client.Dispose();
            return;
        }

        var relay = new Relay(client, server, _time);
        _relays.TryAdd(relay, 0);

        // The host leaving the registry ends the relay once the drain time is over.
        using var retired = destination.Retired.Register(relay.Abort);
        try
        {
            await relay.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _relays.TryRemove(relay, out _);
            relay.Dispose();
        }
    }

    private async Task<(Socket? Server, Destination? Destination)> ConnectAsync(ServiceRoute route)
    {
        var walk = new DestinationWalk(route, MaxConnectAttempts);
        while (walk.TryNext(_time.GetTimestamp(), out var destination))
        {
            var endPoint = destination.EndPoint;
            var socket = endPoint is IPEndPoint ip
                ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
                : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = new CancellationTokenSource(ConnectTimeout);
            try
            {
                await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
                destination.ReportSuccess();
                return (socket, destination);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                destination.ReportConnectFailure(_time);
                Log.ConnectFailed(_logger, Service, destination.Host.Authority, e.Message);
            }
        }

        return (null, null);
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

    /// <summary>One client connection and its backend connection, copied both ways.</summary>
    private sealed class Relay(Socket client, Socket server, TimeProvider time) : IDisposable
    {
        private long _lastActivity = time.GetTimestamp();

        public long LastActivity => Volatile.Read(ref _lastActivity);

        public async Task RunAsync()
        {
            var up = PumpAsync(client, server);
            var down = PumpAsync(server, client);
            await Task.WhenAll(up, down).ConfigureAwait(false);
        }

        public void Abort()
        {
            client.Dispose();
            server.Dispose();
        }

        public void Dispose() => Abort();

        private async Task PumpAsync(Socket from, Socket to)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                while (true)
                {
                    var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false);
                    if (read == 0)
                    {
                        // Half-close: the other side learns there is no more, and may still answer.
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    Volatile.Write(ref _lastActivity, time.GetTimestamp());
                    var sent = 0;
                    while (sent < read)
                    {
                        sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // One side reset or the relay was aborted: end both directions.
                Abort();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(400, LogLevel.Warning, "TCP connect to {Service} host {Host} failed ({Reason}); set aside, trying another")]
        public static partial void ConnectFailed(ILogger logger, string service, string host, string reason);

        [LoggerMessage(401, LogLevel.Warning, "Port {Port} ({Service}): no usable host; connection closed")]
        public static partial void NoUsableHost(ILogger logger, int port, string service);

        [LoggerMessage(402, LogLevel.Warning, "Port {Port} ({Service}): {Max} connections open; new connection refused")]
        public static partial void TooManyConnections(ILogger logger, int port, string service, int max);

        [LoggerMessage(403, LogLevel.Warning, "Port {Port}: accept failed ({Error})")]
        public static partial void AcceptFailed(ILogger logger, int port, SocketError error);

        [LoggerMessage(404, LogLevel.Information, "Port {Port} ({Service}): idle connection closed")]
        public static partial void IdleClosed(ILogger logger, int port, string service);

        [LoggerMessage(405, LogLevel.Warning, "Port {Port} ({Service}): drain time over, closing {Count} connections")]
        public static partial void DrainTimedOut(ILogger logger, int port, string service, int count);
    }
}
