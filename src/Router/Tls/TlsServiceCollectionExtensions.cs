using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Router.Metrics;

namespace Router.Tls;

/// <summary>Registers HTTPS: the certificates (only with <c>--https</c> and <c>--certs</c>), TLS passthrough and what <c>/status</c> shows of them.</summary>
internal static class TlsServiceCollectionExtensions
{
    public static IServiceCollection AddTls(this IServiceCollection services, TlsOptions options)
    {
        services.AddSingleton(options);
        services.TryAddSingleton<RouterMetrics>();
        if (options.Https is not null && options.CertsDirectory is { } directory)
        {
            services.AddSingleton(sp => new CertificateStore(directory, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CertificateStore>>()));
        }

        services.AddSingleton<TlsPassthrough>();
        services.AddSingleton<HttpsProblems>();
        services.AddSingleton<TlsStatus>();
        return services;
    }
}
