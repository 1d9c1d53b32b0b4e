using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Router.Hosting;

/// <summary>
/// Gives memory back to the system once a burst of connections has passed (<c>--return-memory</c>; the rule is
/// <see cref="MemoryReturnPolicy"/>): a compacting full collection that decommits the free heap, then glibc's
/// <c>malloc_trim</c> for the native blocks sockets and TLS freed. Samples <c>/proc/self/status</c> and counts
/// <c>/proc/self/fd</c> every 10 s.
/// </summary>
internal sealed partial class MemoryReturn(RouterOptions options, TimeProvider time, ILogger<MemoryReturn> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.ReturnMemoryThreshold is not { } threshold || !OperatingSystem.IsLinux())
        {
            return;
        }

        var policy = new MemoryReturnPolicy(threshold, TimeSpan.FromSeconds(60));
        var trim = true;

        // The first sample before any traffic: a burst that starts before the first tick must not become the floor.
        policy.Sample(AnonymousBytes(), OpenDescriptors(), time.GetElapsedTime(0));
        using var timer = new PeriodicTimer(Every, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var before = AnonymousBytes();
            var descriptors = OpenDescriptors();
            if (!policy.Sample(before, descriptors, time.GetElapsedTime(0)))
            {
                continue;
            }

            var started = time.GetTimestamp();
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            if (trim)
            {
                try
                {
                    _ = MallocTrim(0);
                }
                catch (EntryPointNotFoundException)
                {
                    // Not glibc (musl has no malloc_trim): the managed part still goes back.
                    trim = false;
                }
            }

            var elapsed = time.GetElapsedTime(started);
            var after = AnonymousBytes();
            policy.Returned(after, descriptors, time.GetElapsedTime(0));
            Log.Returned(logger, (before - after) / 1048576.0, before / 1048576.0, after / 1048576.0, descriptors, elapsed.TotalMilliseconds);
        }
    }

    private static long AnonymousBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                // "RssAnon:	    9152 kB"
                return long.Parse(line.AsSpan(8).Trim().TrimEnd(" kB"), NumberStyles.None, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private static int OpenDescriptors()
    {
        var count = 0;
        foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            count++;
        }

        return count;
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.MemoryReturned, EventName = "MemoryReturned", Level = LogLevel.Information,
            Message = "Returned {FreedMb:F1} MB to the system after a burst (anonymous memory {BeforeMb:F1} -> {AfterMb:F1} MB, {Descriptors} descriptors open, {ElapsedMs:F0} ms)")]
        public static partial void Returned(ILogger logger, double freedMb, double beforeMb, double afterMb, int descriptors, double elapsedMs);
    }
}
