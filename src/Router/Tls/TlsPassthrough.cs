using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Router.Loops;
using Router.Metrics;
using Router.Registry.Model;
using Router.Routing;
using Router.Tcp;

namespace Router.Tls;

/// <summary>
/// TLS passthrough on the HTTPS port (DESIGN "TLS passthrough"): a connection middleware before Kestrel's
/// TLS. It peeks at the ClientHello without consuming it; when the first label of its server name names a
/// <c>tls</c> service, the connection's bytes are relayed untouched to one of that service's hosts; anything
/// else goes on to the router's own TLS termination. The peek has a deadline (<c>--request-head-timeout</c>)
/// and a size cap (<see cref="ClientHelloReader"/>); bytes that are no TLS handshake close the connection.
/// A relay is one of the HTTPS port's connections, so Kestrel's connection limit (from the open-file budget,
/// 2 descriptors per connection) bounds it; it is closed when idle for <c>--tcp-idle-timeout</c>, when its
/// host has left the registry for the drain time, or when its service turns private and the client is outside.
/// </summary>
internal sealed partial class TlsPassthrough : IDisposable
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly RouteTableHolder _routes;
    private readonly InternalNetworks _internalNetworks;
    private readonly TlsPassthroughCounters _counters;
    private readonly TimeSpan _helloTimeout;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogThrottle _refusedLog;

    // Per service, made on its first connection without a usable host (rare: a few small entries at most).
    private readonly ConcurrentDictionary<string, LogThrottle> _noHostLogs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Relay, string> _relays = new();
    private readonly ITimer _sweep;

    public TlsPassthrough(RouteTableHolder routes, InternalNetworks internalNetworks, RouterMetrics metrics, TlsOptions options, TimeProvider time, ILogger<TlsPassthrough> logger)
    {
        _routes = routes;
        _internalNetworks = internalNetworks;
        _counters = metrics.Tls;
        _helloTimeout = options.HelloTimeout;
        _idleTimeout = options.IdleTimeout;
        _time = time;
        _logger = logger;
        _refusedLog = new LogThrottle(time, LogInterval);
        _sweep = time.CreateTimer(_ => Sweep(), null, SweepInterval, SweepInterval);
    }

    /// <summary>The middleware for <c>ListenOptions.Use</c>, placed before <c>UseHttps</c>.</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next) => connection => HandleAsync(connection, next);

    public void Dispose() => _sweep.Dispose();

    private async Task HandleAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var (status, serverName) = await PeekAsync(connection).ConfigureAwait(false);
        switch (status)
        {
            case ClientHelloStatus.Complete:
                break;
            case ClientHelloStatus.Incomplete:
                // The client closed (or timed out) before its ClientHello was complete.
                connection.Abort();
                return;
            default:
                if (status == ClientHelloStatus.TooLarge)
                {
                    _counters.CountTooLarge();
                }
                else
                {
                    _counters.CountNotTls();
                }

                if (_refusedLog.TryEnter(out var suppressed))
                {
                    Log.HelloRefused(_logger, connection.RemoteEndPoint?.ToString() ?? "?", status == ClientHelloStatus.TooLarge ? "a ClientHello too large or in too many records" : "no TLS handshake", suppressed);
                }

                connection.Abort();
                return;
        }

        var clientAddress = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        var label = RouteMatcher.HostLabel(serverName);
        if (label.IsEmpty
            || !_routes.Current.TryGet(label, out var route)
            || route.Entry.Scheme != ServiceScheme.Tls
            || _internalNetworks.ShutsOut(route.Entry, clientAddress))
        {
            // Not a tls service, or a private one seen from outside, which must look like any unknown name:
            // the router's own TLS and HTTP routing answer it.
            await next(connection).ConfigureAwait(false);
            return;
        }

        await RelayAsync(connection, route, clientAddress).ConfigureAwait(false);
    }

    /// <summary>Reads until the ClientHello is complete, refused, or its time is up; consumes nothing.</summary>
    private async Task<(ClientHelloStatus Status, string? ServerName)> PeekAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        deadline.CancelAfter(_helloTimeout);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                if (!connection.ConnectionClosed.IsCancellationRequested)
                {
                    _counters.CountTimedOut();
                }

                return (ClientHelloStatus.Incomplete, null);
            }

            var buffer = result.Buffer;
            var status = ClientHelloReader.TryRead(buffer, out var serverName);
            if (status == ClientHelloStatus.Incomplete && !result.IsCompleted && !result.IsCanceled)
            {
                // Everything examined, nothing consumed: the next read waits for more bytes.
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            // Nothing consumed and nothing examined: TLS (or the relay) reads the ClientHello from the start.
            input.AdvanceTo(buffer.Start);
            return (status, serverName);
        }
    }

    private async Task RelayAsync(ConnectionContext connection, ServiceRoute route, IPAddress? clientAddress)
    {
        var counters = _counters.Services.For(route.Name);
        counters.CountAccepted();
        var (server, destination) = await BackendConnector.ConnectAsync(route, counters, _time, (d, reason, first) => Log.ConnectFailed(_logger, first ? LogLevel.Warning : LogLevel.Debug, route.Name, d.Host.Authority, reason), d => Log.HostAnsweringAgain(_logger, route.Name, d.Host.Authority)).ConfigureAwait(false);
        if (server is null || destination is null)
        {
            // Every connection meets it while the hosts are down: a line now and then with the count, not one each.
            if (_noHostLogs.GetOrAdd(route.Name, static (_, time) => new LogThrottle(time, LogInterval), _time).TryEnter(out var suppressed))
            {
                Log.NoUsableHost(_logger, route.Name, suppressed);
            }

            connection.Abort();
            return;
        }

        var relay = new Relay(new PipeRelayEnd(connection), new SocketRelayEnd(server), clientAddress, counters, _time);
        _relays.TryAdd(relay, route.Name);

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

    /// <summary>Closes relays idle past the TCP idle timeout, and those of outsiders to a service that turned private.</summary>
    private void Sweep()
    {
        if (_relays.IsEmpty)
        {
            return;
        }

        var now = _time.GetTimestamp();
        var table = _routes.Current;
        foreach (var (relay, service) in _relays)
        {
            if (_time.GetElapsedTime(relay.LastActivity, now) > _idleTimeout)
            {
                Log.IdleClosed(_logger, service);
                relay.Abort();
            }
            else if (table.TryGet(service, out var route) && _internalNetworks.ShutsOut(route.Entry, relay.ClientAddress))
            {
                Log.OutsiderClosed(_logger, service);
                relay.Abort();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.PassthroughConnectFailed, Message = "TLS passthrough connect to {Service} host {Host} failed ({Reason}); set aside, trying another")]
        public static partial void ConnectFailed(ILogger logger, LogLevel level, string service, string host, string reason);

        [LoggerMessage(EventIds.PassthroughHostAnsweringAgain, LogLevel.Information, "TLS passthrough {Service} host {Host} answering again; back in use")]
        public static partial void HostAnsweringAgain(ILogger logger, string service, string host);

        [LoggerMessage(EventIds.PassthroughNoUsableHost, LogLevel.Warning, "TLS passthrough to {Service}: no usable host; connection closed ({Suppressed} more since the last line)")]
        public static partial void NoUsableHost(ILogger logger, string service, int suppressed);

        [LoggerMessage(EventIds.PassthroughHelloRefused, LogLevel.Information, "HTTPS connection from {Client} closed: {Reason} ({Suppressed} more since the last line)")]
        public static partial void HelloRefused(ILogger logger, string client, string reason, int suppressed);

        [LoggerMessage(EventIds.PassthroughIdleClosed, LogLevel.Information, "TLS passthrough to {Service}: idle connection closed")]
        public static partial void IdleClosed(ILogger logger, string service);

        [LoggerMessage(EventIds.PassthroughOutsiderClosed, LogLevel.Information, "TLS passthrough to {Service}: the service is private now; closed a connection from outside the internal networks")]
        public static partial void OutsiderClosed(ILogger logger, string service);
    }
}
