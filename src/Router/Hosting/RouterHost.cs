using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.AccessLog;
using Router.Admin;
using Router.Dns;
using Router.Metrics;
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
        var limits = ConnectionLimits.From(options, FileDescriptorBudget.ForThisProcess(), new SerilogLoggerFactory(Log.Logger).CreateLogger<ConnectionLimits>());
        var certificates = options.Https is null || options.CertsDirectory is null
            ? null
            : new CertificateStore(options.CertsDirectory, TimeProvider.System, new SerilogLoggerFactory(Log.Logger).CreateLogger<CertificateStore>());
        if (certificates is not null)
        {
            builder.Services.AddSingleton(certificates);
        }

        builder.Services.AddSerilog();
        builder.Services.Configure<HostOptions>(o =>
        {
            // Kestrel lets requests in flight finish for as long as the host allows.
            o.ShutdownTimeout = options.ShutdownDelay + options.DrainTimeout + TimeSpan.FromSeconds(2);
        });

        // Request handling runs on the socket's I/O thread: the proxy never blocks there, and the hop to the
        // thread pool was most of its scheduler time (bench/, docs/benchmarks.md).
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.WebHost.UseKestrel(kestrel =>
        {
            HttpServerLimits.Apply(kestrel, options, limits);
            // Plain HTTP/2 (h2c) cannot be negotiated on a port that also speaks HTTP/1.1; HTTP/2 comes with TLS.
            kestrel.Listen(options.Http, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(ConnectionHeader.Middleware);
            });
            kestrel.Listen(options.Admin, listen => listen.Protocols = HttpProtocols.Http1);
            if (options.Https is { } https && certificates is not null)
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
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new InternalNetworks(options.InternalNetworks));
        builder.Services.AddSingleton(new TrustedProxies(options.TrustedProxies));
        builder.Services.AddSingleton<DrainState>();
        builder.Services.AddHostedService<ShutdownDelay>();
        builder.Services.AddHostedService<MemoryReturn>();
        builder.Services.AddHostedService<SystemdNotifier>();
        builder.Services.AddRegistry(options.Etcd, options.Prefix, options.StateFile, options.OwnPorts());
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<BackendClient>();
        builder.Services.AddSingleton<DirectForwarder>();
        builder.Services.AddSingleton<RouterMetrics>();
        builder.Services.AddSingleton<RouteTableHolder>();
        builder.Services.AddSingleton<ProxyHandler>();
        builder.Services.AddSingleton<RequestRateHistory>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RequestRateHistory>());
        builder.Services.AddSingleton<AdminHandler>();
        if (options.ToDnsOptions() is { } dns)
        {
            builder.Services.AddDnsResponder(dns);
        }

        builder.Services.AddSingleton(sp => new TcpLimits(options.TcpIdleTimeout, limits.TcpPerPort, limits.TcpTotal, sp.GetRequiredService<RouterMetrics>().Tcp));
        builder.Services.AddSingleton<HostPortManager>();
        builder.Services.AddSingleton<TlsPassthrough>();
        builder.Services.AddSingleton<HttpsProblems>();
        builder.Services.AddSingleton<TlsStatus>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HostPortManager>());

        // Registered only when on: the host then wraps the handler; off, requests never meet it.
        var accessLog = AccessLogWriter.Create(options.AccessLog, options.AccessLogSample, TimeProvider.System);
        if (accessLog is not null)
        {
            builder.Services.AddSingleton(accessLog);
        }

        var app = builder.Build();

        // The table must follow the registry from its first snapshot on.
        _ = app.Services.GetRequiredService<RouteTableHolder>();

        // https and tls services on a router without --https are problems from the first snapshot on, logged once.
        _ = app.Services.GetRequiredService<HttpsProblems>();

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
