using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Router.Registry;

namespace Router.Dns;

public static class DnsServiceCollectionExtensions
{
    /// <summary>
    /// Runs the DNS responder as a hosted service, and registers it as <see cref="DnsResponder"/> for its
    /// <see cref="DnsResponder.Report"/>; it needs an <see cref="IRegistrySource"/> registered by the host.
    /// </summary>
    public static IServiceCollection AddDnsResponder(this IServiceCollection services, DnsOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);

        // One responder, which the host's /status and /metrics can read too.
        services.AddSingleton(sp =>
        {
            var registry = sp.GetRequiredService<IRegistrySource>();
            return new DnsResponder(options, () => registry.Current, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<DnsResponder>>());
        });
        services.AddHostedService<DnsHostedService>();
        return services;
    }
}
