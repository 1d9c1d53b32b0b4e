using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// The app folder each image copies, made by docker/build.sh exactly as for the image, checked
/// on the host (also where no Docker engine can run): self-contained, the apphost the ENTRYPOINT
/// names, no ICU needed.
/// </summary>
public sealed class PublishTests
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(8);

    public static TheoryData<string> Images() => new() { "router", "announcer" };

    [Theory]
    [MemberData(nameof(Images))]
    public async Task App_BuildScript_SelfContainedApphostInvariantGlobalization(string image)
    {
        var work = Directory.CreateTempSubdirectory("deploy-publish-");
        try
        {
            var app = Path.Combine(work.FullName, "app");
            await BuildAppAsync(image, app);

            Assert.True(File.Exists(Path.Combine(app, image + ".dll")), $"{image}.dll is not in the app folder");
            // The image's ENTRYPOINT and the file capability name the apphost, not the dll.
            Assert.True(File.Exists(Path.Combine(app, image)), $"the apphost '{image}' is not in the app folder");
            // Self-contained: the base image has no .NET runtime.
            Assert.True(File.Exists(Path.Combine(app, "libcoreclr.so")), "the runtime is not in the app folder");
            // The base has no libicu: the runtime must not look for it.
            var runtimeConfig = await File.ReadAllTextAsync(Path.Combine(app, image + ".runtimeconfig.json"));
            Assert.Contains("\"System.Globalization.Invariant\": true", runtimeConfig, StringComparison.Ordinal);
            if (image == "router")
            {
                // The router's runtimeconfig names the segments GC (Router.csproj): it must be in the folder, or
                // the runtime refuses to start.
                Assert.Contains("\"System.GC.Name\": \"libclrgc.so\"", runtimeConfig, StringComparison.Ordinal);
                Assert.True(File.Exists(Path.Combine(app, "libclrgc.so")), "libclrgc.so is not in the app folder");
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task App_UnknownImage_IsRefusedWithUsage()
    {
        await using var process = TestProcess.Start(Path.Combine(RepoPaths.Root, "docker", "build.sh"), ["app", "etcd", "/tmp/x"], name: "build.sh");

        Assert.Equal(2, await process.WaitForExitAsync());
        Assert.Contains("usage:", process.Output, StringComparison.Ordinal);
    }

    private static async Task BuildAppAsync(string image, string app)
    {
        var environment = new Dictionary<string, string?>
        {
            // Build servers that outlive the command would hold its output open.
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        await using var process = TestProcess.Start(Path.Combine(RepoPaths.Root, "docker", "build.sh"), ["app", image, app], environment, name: "build.sh app " + image);
        var exitCode = await process.WaitForExitAsync(PublishTimeout);

        Assert.True(exitCode == 0, $"docker/build.sh app {image} exited with {exitCode}:\n{process.Output}");
    }
}
