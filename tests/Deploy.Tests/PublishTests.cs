using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// No Docker engine runs in CI, so the build stage of each Dockerfile is replayed by hand: the
/// files its COPY lines name are copied into a fresh folder (without bin/ and obj/, as
/// .dockerignore keeps them out) and its RUN lines run there, with /app pointed at a temporary
/// output. That proves the publish the image runs, and that the image copies enough of the
/// repository for it; being a copy, it also stays clear of builds running in the work tree.
/// </summary>
public sealed class PublishTests
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(8);

    public static TheoryData<string, string> Images() => new()
    {
        { "router.Dockerfile", "router" },
        { "announcer.Dockerfile", "announcer" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public async Task Publish_DockerfileBuildStage_ProducesAssemblyAndApphost(string file, string executable)
    {
        var build = Dockerfile.Load(file).Build;
        var work = Directory.CreateTempSubdirectory("deploy-publish-");
        try
        {
            var context = Directory.CreateDirectory(Path.Combine(work.FullName, "src"));
            var output = Path.Combine(work.FullName, "app");
            foreach (var copy in build.Arguments("COPY"))
            {
                CopyIntoContext(UnitFile.Words(copy), context.FullName);
            }

            foreach (var command in build.Commands())
            {
                var local = command.Replace(" -o /app", " -o " + output, StringComparison.Ordinal);
                await RunAsync(local, context.FullName);
            }

            Assert.True(File.Exists(Path.Combine(output, executable + ".dll")), $"{executable}.dll is not in the publish output");
            // The image's ENTRYPOINT and setcap name the apphost, not the dll.
            Assert.True(File.Exists(Path.Combine(output, executable)), $"the apphost '{executable}' is not in the publish output");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static void CopyIntoContext(string[] words, string context)
    {
        Assert.DoesNotContain(words, w => w.StartsWith("--", StringComparison.Ordinal));
        var destination = words[^1];
        Assert.False(Path.IsPathRooted(destination), $"COPY to {destination}: the build stage is expected to copy relative to its WORKDIR");
        foreach (var source in words[..^1])
        {
            var from = Path.Combine(RepoPaths.Root, source);
            var to = Path.Combine(context, destination);
            if (Directory.Exists(from))
            {
                CopyDirectory(from, to);
            }
            else
            {
                Assert.True(File.Exists(from), $"COPY names {source}, which the repository does not have");
                Directory.CreateDirectory(to);
                File.Copy(from, Path.Combine(to, Path.GetFileName(from)));
            }
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.EnumerateDirectories(from))
        {
            var name = Path.GetFileName(dir);
            if (name is not ("bin" or "obj"))
            {
                CopyDirectory(dir, Path.Combine(to, name));
            }
        }
    }

    private static async Task RunAsync(string command, string directory)
    {
        var environment = new Dictionary<string, string?>
        {
            // Build servers that outlive the command would hold its output open, and the test
            // would wait for them; a docker build starts no such thing either.
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["UseSharedCompilation"] = "false",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        await using var process = TestProcess.Start("/bin/sh", ["-c", $"cd '{directory}' && {command}"], environment, name: command);
        var exitCode = await process.WaitForExitAsync(PublishTimeout);

        Assert.True(exitCode == 0, $"'{command}' exited with {exitCode}:\n{process.Output}");
    }
}
