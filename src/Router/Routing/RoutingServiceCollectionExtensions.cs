using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Router.Metrics;

namespace Router.Routing;

/// <summary>Registers HTTP routing: the route table, the request handler, YARP's forwarder and their settings.</summary>
internal static class RoutingServiceCollectionExtensions
{
    public static IServiceCollection AddRouting(this IServiceCollection services, ForwardingOptions forwarding, DrainOptions drain, HttpServerOptions http, IReadOnlyList<IPNetwork> internalNetworks, IReadOnlyList<IPNetwork> trustedProxies)
    {
        services.AddSingleton(forwarding);
        services.AddSingleton(drain);
        services.AddSingleton(http);
        services.AddSingleton(_ => new InternalNetworks(internalNetworks));
        services.AddSingleton(_ => new TrustedProxies(trustedProxies));
        services.AddSingleton<DrainState>();
        services.TryAddSingleton<RouterMetrics>();
        services.AddHttpForwarder();
        services.AddSingleton<BackendClient>();
        services.AddSingleton<RouteTableHolder>();
        services.AddSingleton<ProxyHandler>();
        return services;
    }
}
