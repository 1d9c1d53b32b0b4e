using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Router.Metrics;

namespace Router.Admin;

/// <summary>Registers the admin port's handler and the request-rate history behind the status page's charts.</summary>
internal static class AdminServiceCollectionExtensions
{
    public static IServiceCollection AddAdmin(this IServiceCollection services)
    {
        services.TryAddSingleton<RouterMetrics>();
        services.AddSingleton<RequestRateHistory>();
        services.AddHostedService(sp => sp.GetRequiredService<RequestRateHistory>());
        services.AddSingleton<AdminHandler>();
        return services;
    }
}
