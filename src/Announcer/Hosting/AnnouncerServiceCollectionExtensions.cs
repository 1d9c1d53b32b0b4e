using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Announcer.Health;
using Router.Announcer.Options;
using Router.Announcer.Registration;
using Router.Registry;
using Router.Registry.Etcd;

namespace Router.Announcer.Hosting;

internal static class AnnouncerServiceCollectionExtensions
{
    /// <summary>Margin on top of withdraw and drain before the host gives up on a clean stop.</summary>
    private static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(5);

    /// <summary>Adds the health monitor and the registration loop for <paramref name="options"/>.</summary>
    public static IServiceCollection AddAnnouncer(this IServiceCollection services, AnnouncerOptions options)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(options.Etcd);
        services.AddSingleton(new RegistryLayout(options.Prefix));
        services.AddSingleton(sp => new EtcdConnection(options.Etcd, sp.GetRequiredService<ILogger<EtcdConnection>>()));
        services.AddSingleton(new HealthState(initiallyHealthy: options.CheckKind == HealthCheckKind.None));
        services.AddSingleton<IHealthCheck>(_ => options.CheckKind switch
        {
            HealthCheckKind.Http => new HttpHealthCheck(HttpHealthCheck.CreateClient(), options.CheckUrl!),
            HealthCheckKind.Tcp => new TcpHealthCheck(options.AddressHost, options.AddressPort),
            _ => new AlwaysHealthyCheck(),
        });
        services.AddSingleton(sp => new LeasedRegistration(
            sp.GetRequiredService<EtcdConnection>(),
            new HostRegistration
            {
                Service = options.Service,
                Instance = options.Instance,
                Address = options.Address,
                Scheme = options.Scheme,
                HostPort = options.HostPort,
                Private = options.Private,
                TtlSeconds = options.TtlSeconds,
            },
            sp.GetRequiredService<RegistryLayout>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<LeasedRegistration>>()));

        // Registration first: the host stops services in reverse order, and the withdraw need not wait for the monitor.
        services.AddHostedService<RegistrationService>();
        services.AddHostedService<HealthMonitor>();

        services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = RegistrationService.WithdrawDeadline + options.Drain + ShutdownMargin;
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        return services;
    }
}
