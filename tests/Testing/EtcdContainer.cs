using Docker.DotNet;
using Docker.DotNet.Handler.Abstractions;
using HostConfig = Docker.DotNet.Models.HostConfig;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;

namespace Router.Testing;

/// <summary>
/// etcd in a container through Testcontainers, for machines with a Docker engine and no etcd binary. The
/// client port is bound to a fixed host port, so a restart keeps the URL the router was given.
/// </summary>
/// <remarks>
/// Environment, for engines that differ from a developer's Docker: <c>ROUTER_TEST_ETCD_IMAGE</c> names
/// another etcd image (e.g. <c>etcd-debian:ci</c> from <c>docker/build.sh etcd</c>, where no registry is
/// reachable); <c>ROUTER_TEST_ETCD_NETWORK=host</c> runs it on the host's network, listening on loopback
/// only, for a daemon started without a bridge (then no port is published); <c>ROUTER_TEST_ETCD=container</c>
/// makes <see cref="EtcdProcess"/> take this path even where an etcd binary is installed;
/// <c>DOCKER_API_VERSION</c> (as for the docker CLI) pins the API version, which an older engine needs:
/// Testcontainers 4.16 asks for API 1.44, Debian bookworm's docker.io 20.10 answers up to 1.41.
/// </remarks>
public sealed class EtcdContainer : IAsyncDisposable
{
    private const string DefaultImage = "quay.io/coreos/etcd:v3.4.23";

    private readonly IContainer _container;

    public EtcdContainer(string name, int clientPort)
        : this(name, clientPort, peerPort: Ports.FreeTcp(), dockerEndpoint: null, image: null, hostNetwork: null, apiVersion: null)
    {
    }

    /// <param name="dockerEndpoint">The engine to use; null: Testcontainers' own discovery (DOCKER_HOST, the usual socket).</param>
    /// <param name="image">null: <c>ROUTER_TEST_ETCD_IMAGE</c>, else the upstream image.</param>
    /// <param name="hostNetwork">null: whether <c>ROUTER_TEST_ETCD_NETWORK</c> is <c>host</c>.</param>
    /// <param name="apiVersion">null: <c>DOCKER_API_VERSION</c> if set, else Testcontainers' own version.</param>
    public EtcdContainer(string name, int clientPort, int peerPort, string? dockerEndpoint, string? image, bool? hostNetwork, Version? apiVersion)
    {
        var onHost = hostNetwork ?? Environment.GetEnvironmentVariable("ROUTER_TEST_ETCD_NETWORK") == "host";
        var configuredImage = Environment.GetEnvironmentVariable("ROUTER_TEST_ETCD_IMAGE");
        var builder = new ContainerBuilder(image ?? (string.IsNullOrEmpty(configuredImage) ? DefaultImage : configuredImage));
        var pinned = apiVersion ?? (Version.TryParse(Environment.GetEnvironmentVariable("DOCKER_API_VERSION"), out var v) ? v : null);
        var endpoint = dockerEndpoint ?? (pinned is null ? null : Environment.GetEnvironmentVariable("DOCKER_HOST"));
        if (endpoint is not null)
        {
            builder = pinned is null
                ? builder.WithDockerEndpoint(endpoint)
                : builder.WithDockerEndpoint(new PinnedApiEndpoint(new Uri(endpoint), pinned));
        }

        // On the host's network etcd binds the test's loopback ports itself; in a container network it
        // listens on all of the container's addresses and the engine publishes the client port.
        var client = onHost ? $"http://127.0.0.1:{clientPort}" : "http://0.0.0.0:2379";
        var peer = onHost ? $"http://127.0.0.1:{peerPort}" : "http://127.0.0.1:2380";
        builder = onHost
            ? builder.WithCreateParameterModifier(p =>
            {
                p.HostConfig ??= new HostConfig();
                p.HostConfig.NetworkMode = "host";
            })
            : builder.WithPortBinding(clientPort, 2379);
        _container = builder
            .WithCommand(
                "etcd", "--name", name, "--data-dir", "/etcd-data",
                "--listen-client-urls", client,
                "--advertise-client-urls", $"http://127.0.0.1:{clientPort}",
                "--listen-peer-urls", peer,
                "--initial-advertise-peer-urls", peer,
                "--initial-cluster", $"{name}={peer}",
                "--logger", "zap", "--log-level", "warn")
            .WithCleanUp(true)
            .Build();
    }

    /// <summary>True where a Docker engine answers on the usual socket or <c>DOCKER_HOST</c> names one.</summary>
    public static bool DockerAvailable =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")) || File.Exists("/var/run/docker.sock");

    /// <summary><c>ROUTER_TEST_ETCD=container</c>: take the container path although an etcd binary is installed.</summary>
    public static bool Forced => Environment.GetEnvironmentVariable("ROUTER_TEST_ETCD") == "container";

    public Task StartAsync() => _container.StartAsync();

    /// <summary>docker stop: SIGTERM, then the data stays in the stopped container for a restart.</summary>
    public Task StopAsync() => _container.StopAsync();

    /// <summary>A container cannot be sent SIGKILL through this API alone; stop is the nearest (data kept).</summary>
    public Task KillAsync() => _container.StopAsync();

    public ValueTask DisposeAsync() => _container.DisposeAsync();

    /// <summary>An engine endpoint whose client asks for a fixed API version instead of Testcontainers' own.</summary>
    private sealed class PinnedApiEndpoint(Uri endpoint, Version version) : IDockerEndpointAuthenticationConfiguration
    {
        private readonly DockerEndpointAuthenticationConfiguration _inner = new(endpoint, NoopAuthProvider.Instance);

        public Version Version => version;

        public Uri Endpoint => endpoint;

        public IAuthProvider AuthProvider => _inner.AuthProvider;

        public DockerClientBuilder GetDockerClientBuilder(Guid sessionId) => _inner.GetDockerClientBuilder(sessionId).WithApiVersion(version);
    }
}
