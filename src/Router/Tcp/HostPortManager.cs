using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Loops;
using Router.Registry;
using Router.Registry.Model;
using Router.Routing;

namespace Router.Tcp;

/// <summary>
/// Opens and closes the host_port listeners so they match the registry: a listener per port the registry
/// assigns, TCP for <c>tcp</c> services and HTTP for the others. A removed port stops accepting at once and
/// drains; a port that cannot be bound is a problem and is tried again every few seconds.
/// </summary>
internal sealed partial class HostPortManager : BackgroundService
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    private readonly IRegistrySource _registry;
    private readonly RouteTableHolder _routes;
    private readonly ProxyHandler _proxy;
    private readonly InternalNetworks _internalNetworks;
    private readonly HostPortOptions _options;
    private readonly DrainOptions _drain;
    private readonly RegistryLayout _layout;
    private readonly TimeProvider _time;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Dictionary<int, IPortListener> _active = [];
    private readonly Dictionary<IPortListener, Task> _draining = [];
    private readonly Dictionary<int, (string Service, string Reason)> _failures = [];
    private readonly TcpLimits _limits;
    private readonly EventLoops? _loops;
    private readonly ProblemLog _problemLog;
    private volatile IReadOnlyList<RegistryProblem> _problems = [];

    public HostPortManager(IRegistrySource registry, RouteTableHolder routes, ProxyHandler proxy, InternalNetworks internalNetworks, HostPortOptions options, DrainOptions drain, RegistryLayout layout, TimeProvider time, IServiceProvider services, ILoggerFactory loggerFactory, ProblemLog problemLog)
    {
        _problemLog = problemLog;
        _registry = registry;
        _routes = routes;
        _proxy = proxy;
        _internalNetworks = internalNetworks;
        _options = options;
        _drain = drain;
        _layout = layout;
        _time = time;
        _services = services;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<HostPortManager>();
        _limits = services.GetRequiredService<TcpLimits>();
        _loops = options.RelayOnLoops ? services.GetRequiredService<EventLoops>() : null;
        registry.Changed += (_, _) => _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// Every listener, draining ones included, read now: the connection counts are the listeners' own, so a
    /// relay opened since the last registry change is counted.
    /// </summary>
    public IReadOnlyList<PortListenerStatus> Listeners
    {
        get
        {
            lock (_active)
            {
                return
                [
                    .. _active.Values.Select(l => new PortListenerStatus(l.Port, l.Service, l.Kind, "listening", l.OpenConnections, null))
                        .Concat(_draining.Keys.Select(l => new PortListenerStatus(l.Port, l.Service, l.Kind, "draining", l.OpenConnections, null)))
                        .Concat(_failures.Select(f => new PortListenerStatus(f.Key, f.Value.Service, "", "failed", 0, f.Value.Reason)))
                        .OrderBy(l => l.Port),
                ];
            }
        }
    }

    /// <summary>Ports the registry asks for that are not served: own ports, ports in use.</summary>
    public IReadOnlyList<RegistryProblem> Problems => _problems;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        List<Task> stops;
        lock (_active)
        {
            stops = [.. _active.Values.Select(l => l.StopAsync(_drain.DrainTimeout)), .. _draining.Values];
            _active.Clear();
        }

        await Task.WhenAll(stops).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReconcileLoopAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping (also when the host failed to start): not a failure of this service.
        }
    }

    private async Task ReconcileLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReconcileAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One bad pass must not end host_port serving for good; the next pass tries again.
                Log.ReconcileFailed(_logger, e);
            }

            using var retry = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            retry.CancelAfter(RetryInterval);
            try
            {
                await _wake.Reader.ReadAsync(retry.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
            }
        }
    }

    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var snapshot = _registry.Current;
        var problems = ImmutableArray.CreateBuilder<RegistryProblem>();
        var desired = new Dictionary<int, (string Service, string Kind)>();
        foreach (var (port, service) in snapshot.HostPorts)
        {
            if (!snapshot.Services.TryGetValue(service, out var entry))
            {
                continue;
            }

            if (OwnPortName(port) is { } own)
            {
                problems.Add(new RegistryProblem(service, _layout.HostPort(service), $"host_port {port} is the router's own port ({own}); not served"));
                continue;
            }

            // A tls service's host_port is a raw TCP relay as well: its TLS goes to the hosts untouched there too.
            desired[port] = (service, entry.Scheme is ServiceScheme.Tcp or ServiceScheme.Tls ? "tcp" : "http");
        }

        lock (_active)
        {
            foreach (var (port, listener) in _active.ToList())
            {
                if (!desired.TryGetValue(port, out var want) || want.Service != listener.Service || want.Kind != listener.Kind)
                {
                    _active.Remove(port);
                    Log.Closing(_logger, port, listener.Service, listener.Kind, listener.OpenConnections);

                    // Recorded before the drain starts: a listener with nothing open stops synchronously (it stops
                    // accepting at once, so the port is free for a new owner in this same pass) and removes its
                    // entry on the way out. Recording the finished task after that left the entry "draining" for
                    // good — a host_port handed over to another service always hit it.
                    _draining[listener] = Task.CompletedTask;
                    var drain = DrainAsync(listener);
                    if (!drain.IsCompleted)
                    {
                        _draining[listener] = drain;
                    }
                }
            }
        }

        foreach (var (port, want) in desired)
        {
            lock (_active)
            {
                if (_active.ContainsKey(port))
                {
                    continue;
                }
            }

            try
            {
                IPortListener? http = want.Kind == "tcp"
                    ? null
                    : await HttpPortListener.StartAsync(_options.Bind, port, want.Service, _proxy, _services, _loggerFactory, cancellationToken).ConfigureAwait(false);
                lock (_active)
                {
                    // A TCP listener is bound here, under the lock /status reads: a client that got through to
                    // the port finds it listed when it asks next.
                    _active[port] = http ?? TcpProxyListener.Start(_options.Bind, port, want.Service, _routes, _internalNetworks, _limits, _time, _loggerFactory.CreateLogger<TcpProxyListener>(), _loops);
                    _failures.Remove(port);
                }

                Log.Opened(_logger, port, want.Service, want.Kind);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                // Logged through the problem log below: once when it appears or its reason changes.
                var reason = e.InnerException?.Message ?? e.Message;
                lock (_active)
                {
                    _failures[port] = (want.Service, reason);
                }

                problems.Add(new RegistryProblem(want.Service, _layout.HostPort(want.Service), $"cannot listen on {_options.Bind}:{port}: {reason}; retrying"));
            }
        }

        lock (_active)
        {
            foreach (var port in _failures.Keys.Where(p => !desired.ContainsKey(p)).ToList())
            {
                _failures.Remove(port);
            }
        }

        _problems = problems.ToImmutable();
        _problemLog.Report("host_port", _problems);
    }

    private async Task DrainAsync(IPortListener listener)
    {
        try
        {
            await listener.StopAsync(_drain.DrainTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.StopFailed(_logger, listener.Port, e);
        }
        finally
        {
            lock (_active)
            {
                _draining.Remove(listener);
            }
        }
    }

    private string? OwnPortName(int port) => _options.OwnPorts.GetValueOrDefault(port);

    private static partial class Log
    {
        [LoggerMessage(EventIds.HostPortOpened, LogLevel.Information, "Listening on host_port {Port} for {Service} ({Kind})")]
        public static partial void Opened(ILogger logger, int port, string service, string kind);

        [LoggerMessage(EventIds.HostPortClosing, LogLevel.Information, "Closing host_port {Port} of {Service} ({Kind}); draining {Connections} open")]
        public static partial void Closing(ILogger logger, int port, string service, string kind, int connections);

        [LoggerMessage(EventIds.HostPortStopFailed, LogLevel.Error, "Stopping the listener on port {Port} failed")]
        public static partial void StopFailed(ILogger logger, int port, Exception exception);

        [LoggerMessage(EventIds.HostPortReconcileFailed, LogLevel.Error, "host_port reconcile failed; retrying")]
        public static partial void ReconcileFailed(ILogger logger, Exception exception);
    }
}
