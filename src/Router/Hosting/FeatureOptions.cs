using Router.Routing;
using Router.Tcp;
using Router.Tls;

namespace Router.Hosting;

/// <summary>
/// The command line's one <see cref="RouterOptions"/> cut into each feature's own settings, so the features
/// never see Hosting: one small mapping per feature.
/// </summary>
internal static class FeatureOptions
{
    public static ForwardingOptions Forwarding(this RouterOptions options) => new()
    {
        BackendTimeout = options.BackendTimeout,
        DirectForwarding = options.DirectForwarding,
        // The access log's record is filled in Kestrel's request pipeline: with it on, every request goes there.
        ConnectionLevel = options.ConnectionLevel && options.AccessLog is null,
        Https = options.Https,
    };

    public static DrainOptions Drain(this RouterOptions options) => new()
    {
        DrainTimeout = options.DrainTimeout,
        ShutdownDelay = options.ShutdownDelay,
    };

    public static HttpServerOptions HttpServer(this RouterOptions options, ConnectionLimits limits) => new()
    {
        MaxRequestBodySize = options.MaxRequestBodySize,
        ClientIdleTimeout = options.ClientIdleTimeout,
        RequestHeadTimeout = options.RequestHeadTimeout,
        MaxConnectionsPerPort = limits.HttpPerPort,
    };

    public static HostPortOptions HostPorts(this RouterOptions options, ConnectionLimits limits) => new()
    {
        Bind = options.TcpBind,
        OwnPorts = options.OwnPorts(),
        IdleTimeout = options.TcpIdleTimeout,
        MaxConnectionsPerPort = limits.TcpPerPort,
        MaxConnectionsTotal = limits.TcpTotal,
        RelayOnLoops = options.TcpRelayOnLoops && OperatingSystem.IsLinux(),
    };

    public static TlsOptions Tls(this RouterOptions options) => new()
    {
        Https = options.Https,
        CertsDirectory = options.CertsDirectory,
        HelloTimeout = options.RequestHeadTimeout,
        IdleTimeout = options.TcpIdleTimeout,
    };
}
