using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;

namespace Router.Testing;

/// <summary>
/// etcd in a container through Testcontainers, for machines with a Docker engine and no etcd binary. The
/// client port is bound to a fixed host port, so a restart keeps the URL the router was given.
/// </summary>
internal sealed class EtcdContainer : IAsyncDisposable
{
    private const string Image = "quay.io/coreos/etcd:v3.4.23";

    private readonly IContainer _container;

    public EtcdContainer(string name, int clientPort)
    {
        _container = new ContainerBuilder(Image)
            .WithPortBinding(clientPort, 2379)
            .WithCommand(
                "etcd", "--name", name, "--data-dir", "/etcd-data",
                "--listen-client-urls", "http://0.0.0.0:2379",
                "--advertise-client-urls", $"http://127.0.0.1:{clientPort}",
                "--listen-peer-urls", "http://127.0.0.1:2380",
                "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                "--initial-cluster", $"{name}=http://127.0.0.1:2380",
                "--logger", "zap", "--log-level", "warn")
            .WithCleanUp(true)
            .Build();
    }

    /// <summary>True where a Docker engine answers on the usual socket or <c>DOCKER_HOST</c> names one.</summary>
    public static bool DockerAvailable =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")) || File.Exists("/var/run/docker.sock");

    public Task StartAsync() => _container.StartAsync();

    /// <summary>docker stop: SIGTERM, then the data stays in the stopped container for a restart.</summary>
    public Task StopAsync() => _container.StopAsync();

    /// <summary>A container cannot be sent SIGKILL through this API alone; stop is the nearest (data kept).</summary>
    public Task KillAsync() => _container.StopAsync();

    public ValueTask DisposeAsync() => _container.DisposeAsync();
}
