using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Router.Dns;

public static class DnsServiceCollectionExtensions
{
    /// <summary>
    /// Runs the DNS responder as a hosted service; it needs an <see cref="Registry.IRegistrySource"/>
    /// registered by the host.
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
        services.AddHostedService<DnsHostedService>();
        return services;
    }
}
