using System.Globalization;
using System.Security.Cryptography;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// One private Docker daemon and the images built once for the image tests, by the same
/// docker/build.sh an operator runs: base (mmdebstrap + import), router, announcer, and the
/// test-only etcd image. Each step has its own time limit.
/// </summary>
public sealed class ImageFixture : IAsyncLifetime
{
    public const string Tag = "ci";

    private static readonly (string Target, TimeSpan Limit)[] Steps =
    [
        ("base", TimeSpan.FromMinutes(5)),
        ("router", TimeSpan.FromMinutes(5)),
        ("announcer", TimeSpan.FromMinutes(5)),
        ("etcd", TimeSpan.FromMinutes(2)),
    ];

    private DockerDaemon? _daemon;

    internal DockerDaemon Daemon => _daemon ?? throw new InvalidOperationException("the docker daemon is not started");

    /// <summary>Image name → size in bytes as the daemon reports it.</summary>
    public IReadOnlyDictionary<string, long> Sizes { get; private set; } = new Dictionary<string, long>();

    /// <summary>
    /// Where the base root filesystem is kept: mmdebstrap takes minutes, so it is built once and
    /// reused while docker/base.sh is unchanged (ROUTER_BASE_TAR names another place).
    /// </summary>
    public static string BaseTar
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("ROUTER_BASE_TAR");
            if (!string.IsNullOrEmpty(configured))
            {
                return configured;
            }

            var script = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "docker", "base.sh"));
            var hash = Convert.ToHexStringLower(SHA256.HashData(script))[..16];
            return Path.Combine(Path.GetTempPath(), $"router-base-{hash}.tar");
        }
    }

    public async Task InitializeAsync()
    {
        if (DockerDaemon.Unavailable is not null)
        {
            return;
        }

        _daemon = await DockerDaemon.StartAsync();
        foreach (var (target, limit) in Steps)
        {
            await BuildAsync(target, limit);
        }

        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var image in new[] { "router-base:bookworm", $"router:{Tag}", $"announcer:{Tag}", $"etcd-debian:{Tag}" })
        {
            var size = await Daemon.RunAsync(["image", "inspect", "-f", "{{.Size}}", image], TimeSpan.FromSeconds(30));
            sizes[image] = long.Parse(size.Output, CultureInfo.InvariantCulture);
        }

        Sizes = sizes;
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
    }

    private async Task BuildAsync(string target, TimeSpan limit)
    {
        var environment = new Dictionary<string, string?>(Daemon.ClientEnvironment)
        {
            ["DOCKER"] = DockerDaemon.Client,
            ["TAG"] = Tag,
            ["BASE_TAR"] = BaseTar,
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        await using var process = TestProcess.Start(Path.Combine(RepoPaths.Root, "docker", "build.sh"), [target], environment, name: "build.sh " + target);
        int exitCode;
        try
        {
            exitCode = await process.WaitForExitAsync(limit);
        }
        catch (TimeoutException)
        {
            process.Signal(TestProcess.SigKill);
            throw;
        }

        if (exitCode != 0)
        {
            throw new InvalidOperationException($"docker/build.sh {target} exited with {exitCode}:\n{process.Output}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ImageGroup : ICollectionFixture<ImageFixture>
{
    public const string Name = "images";
}

/// <summary>A fact that needs the private Docker daemon; skipped, saying why, where it cannot start.</summary>
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute()
    {
        if (DockerDaemon.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
