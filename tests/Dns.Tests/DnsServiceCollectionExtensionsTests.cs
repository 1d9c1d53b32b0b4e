using System.Net;
using DnsClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Router.Registry;
using Router.Registry.Model;
using Router.Testing;

namespace Router.Dns.Tests;

public class DnsServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddDnsResponder_WithRegistrySource_HostedServiceAnswers()
    {
        var port = Ports.FreeTcpAndUdp();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IRegistrySource>(new StaticRegistry())
            .AddDnsResponder(new DnsOptions { Listen = new IPEndPoint(IPAddress.Loopback, port) });
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().Single();

        await hosted.StartAsync(CancellationToken.None);
        try
        {
            var client = new LookupClient(new LookupClientOptions(new NameServer(IPAddress.Loopback, port)) { UseCache = false });
            var response = await client.QueryAsync("web.local", QueryType.A);

            Assert.Equal(IPAddress.Loopback, Assert.Single(response.Answers.ARecords()).Address);
        }
        finally
        {
            await hosted.StopAsync(CancellationToken.None);
        }
    }

    private sealed class StaticRegistry : IRegistrySource
    {
        public RegistrySnapshot Current => RegistrySnapshot.Empty;

        public RegistryStatus Status { get; } = new() { Endpoints = [] };

        public event Action<RegistrySnapshot, RegistryChange>? Changed
        {
            add { }
            remove { }
        }
    }
}
