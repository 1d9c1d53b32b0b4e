using Microsoft.Extensions.DependencyInjection;

namespace Router.Routing.Direct;

/// <summary>Registers the router's own HTTP/1.1 path as the <see cref="DirectPath"/> that <see cref="ProxyHandler"/> uses.</summary>
internal static class DirectServiceCollectionExtensions
{
    public static IServiceCollection AddDirectForwarding(this IServiceCollection services) =>
        services.AddSingleton<DirectPath, DirectForwarder>()
            .AddSingleton<PlainConnectionHandler>();
}
