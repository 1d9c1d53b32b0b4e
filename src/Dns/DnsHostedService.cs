using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Registry;

namespace Router.Dns;

/// <summary>Hosts <see cref="DnsResponder"/> in the router, reading SRV data from the registry's current snapshot.</summary>
internal sealed class DnsHostedService(DnsOptions options, IRegistrySource registry, TimeProvider time, ILogger<DnsResponder> logger)
    : IHostedService, IAsyncDisposable
{
    private readonly DnsResponder _responder = new(options, () => registry.Current, time, logger);

    public Task StartAsync(CancellationToken cancellationToken) => _responder.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => _responder.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _responder.DisposeAsync();
}
