using System.Net;
using Router.Dns;
using Router.Registry.Etcd;
using Serilog.Events;

namespace Router.Hosting;

/// <summary>The router's settings after parsing and validation of command line, environment and appsettings.json.</summary>
internal sealed record RouterOptions
{
    public EtcdOptions Etcd { get; init; } = new();

    public string Prefix { get; init; } = "/services";

    public IPEndPoint Http { get; init; } = new(IPAddress.Any, 80);

    public IPEndPoint? Https { get; init; }

    public string? CertsDirectory { get; init; }

    public IPAddress TcpBind { get; init; } = IPAddress.Any;

    public IPEndPoint Admin { get; init; } = new(IPAddress.Loopback, 9090);

    /// <summary>Null when DNS is off.</summary>
    public IPEndPoint? Dns { get; init; } = new(IPAddress.Parse("172.17.42.1"), 53);

    public string DnsZone { get; init; } = "local";

    public IPAddress? DnsAnswer { get; init; }

    public IReadOnlyList<IPEndPoint> DnsUpstream { get; init; } =
        [new(IPAddress.Parse("8.8.8.8"), 53), new(IPAddress.Parse("8.8.4.4"), 53)];

    public IReadOnlyList<IPNetwork> InternalNetworks { get; init; } = Routing.InternalNetworks.Defaults;

    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Sources whose X-Forwarded-Proto and X-Forwarded-For are believed (a TLS-terminating load balancer); none by default.</summary>
    public IReadOnlyList<IPNetwork> TrustedProxies { get; init; } = [];

    /// <summary>After SIGTERM, how long the router reports not ready while it still accepts, before the drain.</summary>
    public TimeSpan ShutdownDelay { get; init; } = TimeSpan.Zero;

    /// <summary>A relayed TCP connection with no bytes either way for this long is closed.</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Growth of anonymous memory (bytes) after which, once a burst of connections has passed, memory goes back to
    /// the system (<see cref="MemoryReturnPolicy"/>); null: never.
    /// </summary>
    public long? ReturnMemoryThreshold { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// TCP host_port relays run on the router's own epoll loops (true, <c>--tcp-relay epoll</c>; Linux only, .NET's
    /// sockets elsewhere) or on .NET's sockets (false, <c>--tcp-relay sockets</c>, the way back).
    /// </summary>
    public bool TcpRelayOnLoops { get; init; } = true;

    /// <summary>
    /// The shared HTTP port runs on the router's own epoll loops (true, <c>--http-transport epoll</c>; Linux only, Kestrel's
    /// socket transport elsewhere) or on Kestrel's socket transport (false, <c>--http-transport sockets</c>, the way back).
    /// </summary>
    public bool HttpOnLoops { get; init; } = true;

    /// <summary>Open TCP connections allowed per host_port; more are refused.</summary>
    public int TcpMaxConnections { get; init; } = 10_000;

    /// <summary>The DNS responder's settings, or null when <c>--dns off</c>.</summary>
    public DnsOptions? ToDnsOptions() => Dns is null ? null : new DnsOptions
    {
        Listen = Dns,
        Zone = DnsZone,
        Answer = DnsAnswer,
        Upstreams = DnsUpstream,
        InternalNetworks = InternalNetworks,
    };

    /// <summary>Longest a backend may stay silent within one request (waiting for the head, or between body reads): then 504, or a cut response.</summary>
    public TimeSpan BackendTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// Requests without a body go over the router's own HTTP/1.1 connections (true), or every request
    /// through YARP (false, the fallback if the direct path ever misbehaves).
    /// </summary>
    public bool DirectForwarding { get; init; } = true;

    /// <summary>
    /// With <see cref="DirectForwarding"/>: plain GET and HEAD requests on the shared HTTP port are taken at
    /// the connection, below Kestrel's HTTP layer (true, <c>--http-forwarder direct</c>), or every request
    /// goes through Kestrel first (false, <c>--http-forwarder kestrel</c>).
    /// </summary>
    public bool ConnectionLevel { get; init; } = true;

    /// <summary>Largest request body accepted, in bytes (413 beyond it); null: no limit, bodies are streamed.</summary>
    public long? MaxRequestBodySize { get; init; }

    /// <summary>
    /// A kept-alive client connection with no request for this long is closed. 75 s as nginx: above the 60 s
    /// idle timeout of common cloud load balancers, so the balancer, not the router, closes a pooled connection.
    /// </summary>
    public TimeSpan ClientIdleTimeout { get; init; } = TimeSpan.FromSeconds(75);

    /// <summary>Longest a client may take to send a request's head (then 408 and closed).</summary>
    public TimeSpan RequestHeadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Open HTTP connections per listening port; null: derived from the open-file limit.</summary>
    public int? MaxHttpConnections { get; init; }

    /// <summary>Where the last good table is kept for a restart while etcd is away; null disables it.</summary>
    public string? StateFile { get; init; }

    /// <summary>Where the access log goes: null (off, the default), <c>stdout</c>, or a file path.</summary>
    public string? AccessLog { get; init; }

    /// <summary>1 request in this many is written to the access log.</summary>
    public int AccessLogSample { get; init; } = 1;

    /// <summary>The least severe log events written (<c>--log-level</c>).</summary>
    public LogEventLevel LogLevel { get; init; } = LogEventLevel.Information;

    /// <summary>The ports the router listens on itself (port → option); no service may take one as its host_port.</summary>
    public IReadOnlyDictionary<int, string> OwnPorts()
    {
        var ports = new Dictionary<int, string>();
        ports.TryAdd(Http.Port, "--http");
        ports.TryAdd(Admin.Port, "--admin");
        if (Https is { } https)
        {
            ports.TryAdd(https.Port, "--https");
        }

        if (Dns is { } dns)
        {
            ports.TryAdd(dns.Port, "--dns");
        }

        return ports;
    }
}
