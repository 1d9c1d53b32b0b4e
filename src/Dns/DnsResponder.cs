using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Router.Dns.Cache;
using Router.Dns.Forwarding;
using Router.Dns.Reporting;
using Router.Dns.Responding;
using Router.Registry;
using Router.Registry.Model;

namespace Router.Dns;

/// <summary>
/// The DNS responder: the zone's names from the registry, every other name relayed upstream through a cache.
/// It never fails its host: an address that cannot be bound yet (the docker bridge comes up after the router)
/// is retried in the background until it can.
/// </summary>
public sealed partial class DnsResponder : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    private readonly DnsOptions _options;
    private readonly Func<RegistrySnapshot> _snapshot;
    private readonly ILogger _logger;
    private readonly ClientFilter _filter;
    private readonly TimeProvider _time;
    private readonly DnsStatistics _statistics = new();
    private readonly TaskCompletionSource<IPEndPoint> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task _bindLoop = Task.CompletedTask;
    private UdpResponder? _udp;
    private TcpResponder? _tcp;
    private UpstreamForwarder? _forwarder;
    private bool _stopped;
    private volatile string? _bindError;
    private IReadOnlyList<IPEndPoint> _ignoredUpstreams = [];

    /// <param name="options">What to listen on and answer; see <see cref="DnsOptions.Validate"/>.</param>
    /// <param name="snapshot">The current registry snapshot, read per SRV or SOA query.</param>
    /// <param name="timeProvider">The cache's clock (tests move it); socket timeouts use real time.</param>
    /// <param name="logger">Where the responder reports.</param>
    public DnsResponder(DnsOptions options, Func<RegistrySnapshot> snapshot, TimeProvider timeProvider, ILogger<DnsResponder> logger)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        _options = options;
        _snapshot = snapshot;
        _logger = logger;
        _time = timeProvider;
        _filter = new ClientFilter(options.InternalNetworks);
        Cache = new DnsCache(options.CacheSize, timeProvider);
    }

    /// <summary>The bound address and port, or null while binding is still being retried.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Completes once UDP and TCP are bound.</summary>
    public Task<IPEndPoint> Bound => _bound.Task;

    /// <summary>The upstreams in use, after the ones that point at ourselves were dropped.</summary>
    public IReadOnlyList<IPEndPoint> Upstreams => _forwarder?.Upstreams ?? [];

    internal DnsCache Cache { get; }

    /// <summary>What <c>/status</c> and <c>/metrics</c> show: binding, upstreams with their health, cache, answer counts.</summary>
    public DnsReport Report()
    {
        UpstreamForwarder? forwarder;
        IReadOnlyList<IPEndPoint> ignored;
        bool stopped;
        lock (_gate)
        {
            (forwarder, ignored, stopped) = (_forwarder, _ignoredUpstreams, _stopped);
        }

        var bound = LocalEndPoint;
        var upstreams = forwarder?.Report()
            ?? [.. _options.Upstreams.Select(u => new DnsUpstreamReport(u.ToString(), "unknown", false, 0, 0, 0, 0, 0, null, null, new long[DnsReport.LatencyBounds.Count + 1], 0))];
        return new DnsReport(
            (bound ?? _options.Listen).ToString(),
            bound is not null,
            bound is null ? _bindError ?? (stopped ? "stopped" : "not started") : null,
            _options.Zone,
            upstreams,
            [.. ignored.Select(u => u.ToString())],
            Cache.Count,
            _options.CacheSize,
            _statistics.CacheHits,
            _statistics.CacheMisses,
            _statistics.Answers());
    }

    /// <summary>Binds now if it can, else keeps trying in the background; never throws for a bind failure.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!TryBind(out var error))
        {
            Log.BindRetrying(_logger, _options.Listen, error?.SocketErrorCode ?? SocketError.SocketError, FirstRetry.TotalSeconds);
            _bindLoop = Task.Run(() => BindLoopAsync(_stop.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        UdpResponder? udp;
        TcpResponder? tcp;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            (udp, tcp) = (_udp, _tcp);
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _bindLoop.ConfigureAwait(false);
        udp?.Dispose();
        if (tcp is not null)
        {
            await tcp.DisposeAsync().ConfigureAwait(false);
        }

        _bound.TrySetCanceled(CancellationToken.None);
        Log.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task BindLoopAsync(CancellationToken cancellationToken)
    {
        var backoff = new Backoff(FirstRetry, MaxRetry);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(backoff.Next(), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (TryBind(out var error))
            {
                return;
            }

            Log.BindRetrying(_logger, _options.Listen, error?.SocketErrorCode ?? SocketError.SocketError, backoff.Current.TotalSeconds);
        }
    }

    private bool TryBind(out SocketException? error)
    {
        error = null;

        // With port 0 UDP picks the port and TCP may find it taken: pick again a few times.
        var attempts = _options.Listen.Port == 0 ? 10 : 1;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            Socket? udp = null;
            Socket? tcp = null;
            try
            {
                udp = new Socket(_options.Listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                AllowNonLocalBind(udp);
                udp.Bind(_options.Listen);
                var endpoint = new IPEndPoint(_options.Listen.Address, ((IPEndPoint)udp.LocalEndPoint!).Port);

                tcp = new Socket(_options.Listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                tcp.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                AllowNonLocalBind(tcp);
                tcp.Bind(endpoint);
                tcp.Listen(128);

                if (Activate(udp, tcp, endpoint))
                {
                    return true;
                }

                udp.Dispose();
                tcp.Dispose();
                return true;
            }
            catch (SocketException e)
            {
                udp?.Dispose();
                tcp?.Dispose();
                error = e;
                _bindError = e.SocketErrorCode.ToString();
            }
        }

        return false;
    }

    /// <summary>False when the responder was stopped meanwhile (the sockets are then the caller's to close).</summary>
    private bool Activate(Socket udp, Socket tcp, IPEndPoint endpoint)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return false;
            }

            var upstreams = new List<IPEndPoint>();
            var ignored = new List<IPEndPoint>();
            foreach (var upstream in _options.Upstreams)
            {
                if (UpstreamGuard.IsSelf(upstream, endpoint))
                {
                    Log.UpstreamIsSelf(_logger, upstream, endpoint);
                    ignored.Add(upstream);
                }
                else
                {
                    upstreams.Add(upstream);
                }
            }

            if (upstreams.Count == 0)
            {
                Log.NoUpstreams(_logger);
            }

            _ignoredUpstreams = ignored;
            _forwarder = new UpstreamForwarder(upstreams, _options.UpstreamTimeout, _time, _logger);
            var zone = new LocalZone(_options.Zone, _options.AnswerAddress, _options.LocalTtl, _snapshot);
            var processor = new DnsProcessor(zone, Cache, _forwarder, _statistics);
            _udp = new UdpResponder(udp, processor, _filter, _logger);
            _tcp = new TcpResponder(tcp, processor, _filter, _logger);
            _udp.Start();
            _tcp.Start();
            LocalEndPoint = endpoint;
            _bindError = null;
        }

        Log.Listening(_logger, endpoint, _options.Zone, _options.AnswerAddress, Upstreams);
        _bound.TrySetResult(endpoint);
        return true;
    }

    /// <summary>
    /// IP_FREEBIND (Linux): bind to an address that is not up yet, such as a docker bridge created after
    /// the router started; packets flow once it exists. Where it is missing, the retry loop covers it.
    /// </summary>
    private static void AllowNonLocalBind(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            if (socket.AddressFamily == AddressFamily.InterNetwork)
            {
                socket.SetRawSocketOption(0 /* SOL_IP */, 15 /* IP_FREEBIND */, BitConverter.GetBytes(1));
            }
            else if (socket.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.SetRawSocketOption(41 /* SOL_IPV6 */, 78 /* IPV6_FREEBIND */, BitConverter.GetBytes(1));
            }
        }
        catch (SocketException)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.DnsListening, Level = LogLevel.Information, Message = "DNS listening on {Endpoint} (UDP and TCP): *.{Zone} -> {Answer}, upstreams: {Upstreams}")]
        public static partial void Listening(ILogger logger, IPEndPoint endpoint, string zone, IPAddress answer, IReadOnlyList<IPEndPoint> upstreams);

        [LoggerMessage(EventId = EventIds.DnsBindRetrying, Level = LogLevel.Warning, Message = "DNS cannot bind {Endpoint} yet ({Error}); retrying in {Seconds} s")]
        public static partial void BindRetrying(ILogger logger, IPEndPoint endpoint, SocketError error, double seconds);

        [LoggerMessage(EventId = EventIds.DnsUpstreamIsSelf, Level = LogLevel.Warning, Message = "DNS upstream {Upstream} is this responder ({Endpoint}); it is not used, so queries cannot loop")]
        public static partial void UpstreamIsSelf(ILogger logger, IPEndPoint upstream, IPEndPoint endpoint);

        [LoggerMessage(EventId = EventIds.DnsNoUpstreams, Level = LogLevel.Warning, Message = "DNS has no usable upstream: names outside the zone get SERVFAIL")]
        public static partial void NoUpstreams(ILogger logger);

        [LoggerMessage(EventId = EventIds.DnsStopped, Level = LogLevel.Information, Message = "DNS stopped")]
        public static partial void Stopped(ILogger logger);
    }
}
