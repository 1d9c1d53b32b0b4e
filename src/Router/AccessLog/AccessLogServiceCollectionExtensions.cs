using Microsoft.Extensions.DependencyInjection;

namespace Router.AccessLog;

/// <summary>Registers the access log, only when it is on: off, no request meets it.</summary>
internal static class AccessLogServiceCollectionExtensions
{
    /// <param name="target">Null (off), <c>stdout</c>, or a file path.</param>
    /// <param name="sample">1 request in this many is written.</param>
    public static IServiceCollection AddAccessLog(this IServiceCollection services, string? target, int sample)
    {
        if (target is not null)
        {
            services.AddSingleton(sp => AccessLogWriter.Create(target, sample, sp.GetRequiredService<TimeProvider>())!);
        }

        return services;
    }
}
