using Router.Testing;

namespace Router.Tests;

/// <summary>
/// The router runs on the runtime's segments-based garbage collector, which its runtimeconfig names
/// (Router.csproj): each ephemeral collection paused it 3–7 ms with the default regions GC and 1–2.4 ms with
/// segments (docs/benchmarks.md, round 8). A build that lost the setting, or a runtime without the library,
/// shows here. A native AOT build links its own GC and maps no libcoreclr.so either.
/// </summary>
public sealed class GarbageCollectorEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    [Fact]
    public void RunningRouter_RuntimeLoaded_SegmentsGcLoadedBesideIt()
    {
        var mapped = File.ReadAllLines($"/proc/{Proxy.Process.Id}/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6)
            .Select(fields => Path.GetFileName(fields[5]))
            .ToHashSet(StringComparer.Ordinal);

        if (mapped.Contains("libcoreclr.so"))
        {
            Assert.Contains("libclrgc.so", mapped);
        }
        else
        {
            // Native AOT (ROUTER_TEST_EXECUTABLE): no runtime library, and no GC library to load.
            Assert.DoesNotContain("libclrgc.so", mapped);
        }
    }
}
