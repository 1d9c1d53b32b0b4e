using Microsoft.Extensions.Hosting;

namespace Router.Dns;

/// <summary>Starts and stops the host's <see cref="DnsResponder"/>; the container owns and disposes it.</summary>
internal sealed class DnsHostedService(DnsResponder responder) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => responder.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => responder.StopAsync(cancellationToken);
}
