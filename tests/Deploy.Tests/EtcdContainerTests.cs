using DotNet.Testcontainers.Configurations;
using dotnet_etcd;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// The Testcontainers fallback of tests/Testing (EtcdContainer) run for real: etcd from Debian's
/// etcd-server package in an image built here, on the private daemon (host network: the daemon has
/// no bridge), used as a registry test uses it: put, read back, stop and start again on the same URL
/// with the data kept.
/// </summary>
[Collection(ImageGroup.Name)]
public sealed class EtcdContainerTests(ImageFixture images)
{
    [DockerFact]
    public async Task EtcdContainer_DebianImage_ServesKeepsDataAcrossRestart()
    {
        // Testcontainers' reaper is an image from a registry; the test disposes its container itself.
        TestcontainersSettings.ResourceReaperEnabled = false;
        var clientPort = Ports.FreeTcp();
        var url = $"http://127.0.0.1:{clientPort}";
        var prefix = EtcdFixture.NewPrefix();
        await using var container = new EtcdContainer("ci-" + Guid.NewGuid().ToString("N")[..8], clientPort, Ports.FreeTcp(),
            dockerEndpoint: images.Daemon.Host, image: $"etcd-debian:{ImageFixture.Tag}", hostNetwork: true, apiVersion: await images.Daemon.ApiVersionAsync());
        await container.StartAsync();
        using var client = new EtcdClient(url);
        await Wait.UntilAsync(async () => (await client.StatusAsync(new Etcdserverpb.StatusRequest())).Header.MemberId != 0,
            "etcd in the container to answer", TimeSpan.FromSeconds(60));

        await client.PutAsync($"{prefix}/web/hosts/1", "127.0.0.1:8080");
        Assert.Equal("127.0.0.1:8080", await client.GetValAsync($"{prefix}/web/hosts/1"));

        await container.StopAsync();
        await container.StartAsync();
        await Wait.UntilAsync(async () => await client.GetValAsync($"{prefix}/web/hosts/1") == "127.0.0.1:8080",
            "the restarted etcd to answer with the data it had", TimeSpan.FromSeconds(60));
    }
}
