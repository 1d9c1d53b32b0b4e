using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Router.AccessLog;
using Router.Routing;

namespace Router.Tcp;

/// <summary>
/// The host_port of an <c>http</c> service: a Kestrel server of its own, so it can be opened and closed
/// alone (gracefully, with its own drain) while every other port keeps running.
/// </summary>
internal sealed class HttpPortListener : IPortListener, IHttpApplication<HttpContext>
{
    private readonly KestrelServer _server;
    private readonly ProxyHandler _proxy;
    private readonly RouteTableHolder _routes;
    private readonly InternalNetworks _internalNetworks;
    private int _inFlight;

    // Null while the access log is off.
    private AccessLogWriter? _accessLog;

    private HttpPortListener(KestrelServer server, int port, string service, ProxyHandler proxy, RouteTableHolder routes, InternalNetworks internalNetworks)
    {
        _server = server;
        Port = port;
        Service = service;
        _proxy = proxy;
        _routes = routes;
        _internalNetworks = internalNetworks;
    }

    public int Port { get; }

    public string Service { get; }

    public string Kind => "http";

    /// <summary>Requests in flight (HTTP connections are pooled; requests are what a drain waits for).</summary>
    public int OpenConnections => Volatile.Read(ref _inFlight);

    /// <summary>Binds and starts serving; a port that cannot be bound throws.</summary>
    public static async Task<HttpPortListener> StartAsync(IPAddress bind, int port, string service, ProxyHandler proxy, IServiceProvider services, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var options = new KestrelServerOptions { ApplicationServices = services };
        HttpServerLimits.Apply(options, services.GetRequiredService<HttpServerOptions>());
        options.Listen(bind, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.Use(Routing.ConnectionHeader.Middleware);
        });
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggerFactory);
        var server = new KestrelServer(Options.Create(options), transport, loggerFactory);
        var listener = new HttpPortListener(server, port, service, proxy, services.GetRequiredService<RouteTableHolder>(), services.GetRequiredService<InternalNetworks>())
        {
            _accessLog = services.GetService<AccessLogWriter>(),
        };
        try
        {
            await server.StartAsync(listener, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return listener;
    }

    public async Task StopAsync(TimeSpan drain)
    {
        // Kestrel stops accepting at once and lets requests finish until the token fires, then aborts.
        using var deadline = new CancellationTokenSource(drain);
        await _server.StopAsync(deadline.Token).ConfigureAwait(false);
        _server.Dispose();
    }

    HttpContext IHttpApplication<HttpContext>.CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

    async Task IHttpApplication<HttpContext>.ProcessRequestAsync(HttpContext context)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (_routes.Current.TryGet(Service, out var route) && _internalNetworks.ShutsOut(route.Entry, context.Connection.RemoteIpAddress))
            {
                // An outsider's connection kept alive from when the service was public ends with this answer
                // (404 from the proxy): "Connection: close" makes Kestrel close it after the response (RFC 9112 §9.6).
                context.Response.Headers[HeaderNames.Connection] = "close";
            }

            await (_accessLog is null
                ? _proxy.HandleServiceAsync(context, Service)
                : _accessLog.HandleAsync(context, c => _proxy.HandleServiceAsync(c, Service))).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    void IHttpApplication<HttpContext>.DisposeContext(HttpContext context, Exception? exception)
    {
    }
}
