using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Router.Loops;
using Router.Metrics;

namespace Router.Tcp;

/// <summary>Registers the host_port listeners (TCP relays and per-service HTTP ports) and their limits.</summary>
internal static class TcpServiceCollectionExtensions
{
    public static IServiceCollection AddHostPorts(this IServiceCollection services, HostPortOptions options)
    {
        services.AddSingleton(options);
        services.TryAddSingleton<RouterMetrics>();
        services.AddSingleton(sp => new TcpLimits(options.IdleTimeout, options.MaxConnectionsPerPort, options.MaxConnectionsTotal, sp.GetRequiredService<RouterMetrics>().Tcp));
        services.TryAddSingleton<EventLoops>();
        services.AddSingleton<HostPortManager>();
        services.AddHostedService(sp => sp.GetRequiredService<HostPortManager>());
        return services;
    }
}
