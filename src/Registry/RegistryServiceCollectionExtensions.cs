using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Router.Registry.Etcd;

namespace Router.Registry;

public static class RegistryServiceCollectionExtensions
{
    /// <summary>Adds the etcd connection and the registry watcher (as <see cref="IRegistrySource"/> and a hosted service).</summary>
    public static IServiceCollection AddRegistry(this IServiceCollection services, EtcdOptions etcd, string prefix)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(etcd);
        services.AddSingleton(new RegistryLayout(prefix));
        services.AddSingleton(sp => new EtcdConnection(etcd, sp.GetRequiredService<ILogger<EtcdConnection>>()));
        services.AddSingleton<RegistryWatcher>();
        services.AddSingleton<IRegistrySource>(sp => sp.GetRequiredService<RegistryWatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<RegistryWatcher>());
        return services;
    }
}
