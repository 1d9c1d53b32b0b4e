using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.AccessLog;
using Router.Admin;
using Router.Dns;
using Router.Loops;
using Router.Registry;
using Router.Routing;
using Router.Routing.Direct;
using Router.Tcp;
using Router.Tls;
using Serilog;
using Serilog.Extensions.Logging;

namespace Router.Hosting;

/// <summary>Builds the router's web host: the shared HTTP port, the admin port, the registry watcher.</summary>
internal static class RouterHost
{
    public static WebApplication Build(RouterOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });

        builder.Logging.ClearProviders();

        // Built before the container on purpose: the limits it settles (the open-file budget, logged once)
        // are part of the feature settings handed to AddRouting and AddHostPorts below.
        var limits = ConnectionLimits.From(options, FileDescriptorBudget.ForThisProcess(), new SerilogLoggerFactory(Log.Logger).CreateLogger<ConnectionLimits>());
        var httpServer = options.HttpServer(limits);
        var tls = options.Tls();

        builder.Services.AddSerilog();
        builder.Services.Configure<HostOptions>(o =>
        {
            // Kestrel lets requests in flight finish for as long as the host allows.
            o.ShutdownTimeout = options.ShutdownDelay + options.DrainTimeout + TimeSpan.FromSeconds(2);
        });

        // Request handling runs on the socket's I/O thread: the proxy never blocks there, and the hop to the
        // thread pool was most of its scheduler time (bench/, docs/benchmarks.md).
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        if (options.HttpOnLoops && OperatingSystem.IsLinux())
        {
            // Registered after the socket transport, so Kestrel asks it first; it takes the HTTP port alone.
            builder.Services.TryAddSingleton<EventLoops>();
            builder.Services.AddSingleton<IConnectionListenerFactory>(sp =>
            {
                // Plain requests are served on the loop before Kestrel sees the connection (see LoopListener).
                var plain = sp.GetRequiredService<PlainConnectionHandler>();
                return new LoopTransport(sp.GetRequiredService<EventLoops>(), options.Http, sp.GetRequiredService<ILoggerFactory>(), plain.Enabled ? plain.Wrap : null, httpServer.MaxConnectionsPerPort);
            });
        }

        builder.WebHost.UseKestrel(kestrel =>
        {
            HttpServerLimits.Apply(kestrel, httpServer);
            // Plain HTTP/2 (h2c) cannot be negotiated on a port that also speaks HTTP/1.1; HTTP/2 comes with TLS.
            kestrel.Listen(options.Http, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;

                // On the router's own loops, each connection's handlers run on the loop that accepted it.
                listen.Use(LoopTransport.OnItsLoop);

                // Plain GET and HEAD requests are taken here, below Kestrel's HTTP layer; from the first
                // request that is not plain on, the connection goes on through Kestrel.
                listen.Use(next =>
                {
                    // A connection the loops' listener handed on has been through this already.
                    var plain = listen.ApplicationServices.GetRequiredService<PlainConnectionHandler>().Wrap(next);
                    return connection => connection is LoopConnection { HandedOn: true } ? next(connection) : plain(connection);
                });
                listen.Use(ConnectionHeader.Middleware);
            });
            kestrel.Listen(options.Admin, listen => listen.Protocols = HttpProtocols.Http1);

            // Kestrel's settings are applied when the server starts, after the container is built: the
            // certificates are the container's singleton (AddTls), present only with --https and --certs.
            if (tls.Https is { } https && kestrel.ApplicationServices.GetService<CertificateStore>() is { } certificates)
            {
                // HTTP/2 is negotiated by ALPN here; SNI picks the certificate per host name.
                kestrel.Listen(https, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;

                    // Before TLS: a ClientHello naming a tls service is relayed untouched (TLS passthrough).
                    listen.Use(next => listen.ApplicationServices.GetRequiredService<TlsPassthrough>().Wrap(next));
                    listen.Use(ConnectionHeader.Middleware);
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        // The certificate's server context is made once per certificate file, not per handshake.
                        OnConnection = context => ValueTask.FromResult(new SslServerAuthenticationOptions
                        {
                            ServerCertificateContext = certificates.SelectContext(context.ClientHelloInfo.ServerName),
                            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
                        }),
                    });
                });
            }
        });

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<ShutdownDelay>();
        builder.Services.AddHostedService<MemoryReturn>();
        builder.Services.AddHostedService<SystemdNotifier>();
        builder.Services.AddRegistry(options.Etcd, options.Prefix, options.StateFile, options.OwnPorts());
        builder.Services.AddRouting(options.Forwarding(), options.Drain(), httpServer, options.InternalNetworks, options.TrustedProxies);
        builder.Services.AddDirectForwarding();
        builder.Services.AddHostPorts(options.HostPorts(limits));
        builder.Services.AddTls(tls);
        builder.Services.AddAccessLog(options.AccessLog, options.AccessLogSample);
        builder.Services.AddAdmin();
        if (options.ToDnsOptions() is { } dns)
        {
            builder.Services.AddDnsResponder(dns);
        }

        var app = builder.Build();

        // The table must follow the registry from its first snapshot on.
        _ = app.Services.GetRequiredService<RouteTableHolder>();

        // https and tls services on a router without --https are problems from the first snapshot on, logged once.
        _ = app.Services.GetRequiredService<HttpsProblems>();

        // Registered only when on (AddAccessLog): the handler is then wrapped; off, requests never meet it.
        var accessLog = app.Services.GetService<AccessLogWriter>();
        var proxy = app.Services.GetRequiredService<ProxyHandler>();
        var admin = app.Services.GetRequiredService<AdminHandler>();
        var adminEndpoint = options.Admin;
        RequestDelegate serve = accessLog is null ? proxy.HandleAsync : context => accessLog.HandleAsync(context, proxy.HandleAsync);
        app.Run(context => IsAdmin(context.Connection.LocalIpAddress, context.Connection.LocalPort, adminEndpoint)
            ? admin.HandleAsync(context)
            : serve(context));
        return app;
    }

    private static bool IsAdmin(IPAddress? local, int port, IPEndPoint admin) =>
        port == admin.Port && (admin.Address.Equals(IPAddress.Any) || admin.Address.Equals(IPAddress.IPv6Any) || admin.Address.Equals(local));
}
