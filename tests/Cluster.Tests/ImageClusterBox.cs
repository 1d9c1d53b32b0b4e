namespace Router.Cluster.Tests;

/// <summary>
/// The same box with every node's router run from the router image built from docker/ (scripts/cluster with
/// CLUSTER_ROUTER_FROM=image): a docker daemon of each node's own, in the node's namespace, runs the unit's own
/// <c>docker run</c> (--net=host, --cap-drop ALL --cap-add NET_BIND_SERVICE, --ulimit, -v, -e, the image's user).
/// The script builds the image with docker/build.sh when no cached tar of it is there, so the start may take minutes.
/// </summary>
public sealed class ImageClusterBox : ClusterBox
{
    /// <summary>The tag scripts/cluster gives the image it loads into every node's daemon.</summary>
    public const string Image = "router:cluster";

    private const string Dockerd = "/usr/sbin/dockerd";
    private const string Client = "/usr/bin/docker";

    public ImageClusterBox()
        : base("image", TimeSpan.FromMinutes(12))
    {
    }

    /// <summary>The docker client against node <paramref name="node"/>'s own daemon; fails on a non-zero exit.</summary>
    public Task<string> DockerAsync(int node, params string[] args) =>
        ExecAsync(Node(node), ["env", $"DOCKER_HOST=unix://{Path.Combine(StateFolder, $"n{node}", "docker", "docker.sock")}", Client, .. args]);

    // Fails rather than skips: CI installs docker.io (scripts/lib/deps.sh), so a machine without it is a broken one.
    protected override string? Unavailable() =>
        File.Exists(Dockerd) && File.Exists(Client)
            ? null
            : $"the image variant of the cluster box needs Debian's docker.io ({Dockerd}, {Client}): apt-get install -y docker.io (scripts/test and .ci/run install it through scripts/lib/deps.sh)";
}
