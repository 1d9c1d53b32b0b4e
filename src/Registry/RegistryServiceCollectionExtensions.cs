using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Router.Registry.Etcd;

namespace Router.Registry;

public static class RegistryServiceCollectionExtensions
{
    /// <summary>
    /// Adds the etcd connection, the registry watcher (as <see cref="IRegistrySource"/> and a hosted service) and
    /// the <see cref="ProblemLog"/> (it follows the registry once something resolves it).
    /// </summary>
    /// <param name="stateFile">Where the last good registry is kept for a start while etcd is away; null for none.</param>
    /// <param name="reservedPorts">Ports no host_port may take (the caller's own listeners), see <see cref="RegistryLayout.ReservedPorts"/>.</param>
    public static IServiceCollection AddRegistry(this IServiceCollection services, EtcdOptions etcd, string prefix, string? stateFile = null, IReadOnlyDictionary<int, string>? reservedPorts = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(etcd);
        services.AddSingleton(new RegistryLayout(prefix) { ReservedPorts = reservedPorts ?? new Dictionary<int, string>() });
        services.AddSingleton(sp => new EtcdConnection(etcd, sp.GetRequiredService<ILogger<EtcdConnection>>()));
        services.AddSingleton<RegistryWatcher>();
        services.AddSingleton<IRegistrySource>(sp => sp.GetRequiredService<RegistryWatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<RegistryWatcher>());
        services.AddSingleton<ProblemLog>();
        if (stateFile is not null)
        {
            // Registered after the watcher: built (and so seeded) before the watcher starts, stopped before it.
            services.AddSingleton(sp => new RegistryStateSaver(
                sp.GetRequiredService<RegistryWatcher>(), sp.GetRequiredService<RegistryLayout>(), stateFile,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RegistryStateSaver>>()));
            services.AddHostedService(sp => sp.GetRequiredService<RegistryStateSaver>());
        }

        return services;
    }
}
