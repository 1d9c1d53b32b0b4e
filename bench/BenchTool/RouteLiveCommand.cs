namespace BenchTool;

/// <summary>
/// <c>route-live --etcd URL --router ADDR --backend ADDR [--count 100]</c>: puts a new service (scheme and one
/// host, one transaction) and times put → first routed 200, <c>count</c> times; then deletes them. Each sample is
/// printed (<c>SAMPLE</c> lines) so a maximum can be traced to its change.
/// </summary>
internal static class RouteLiveCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        using var etcd = new Etcd(args.Get("etcd"));
        using var probe = new RouteProbe(args.Get("router"));
        var prefix = args.Get("prefix", "/services");
        var backend = args.Get("backend");
        var count = args.GetInt("count", 100);
        var gap = TimeSpan.FromMilliseconds(args.GetInt("gap-ms", 20));
        var tag = args.Get("tag", "rl-") + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-";
        var name = args.Get("name", "route_live");

        var routed = new List<double>(count);
        var acked = new List<double>(count);
        var failed = 0;
        await etcd.WarmUpAsync($"/bench-warm-up/{tag}");
        try
        {
            for (var i = 0; i < count; i++)
            {
                var service = $"{tag}{i}";
                var host = $"{service}.bench";
                // Also warms the connection: the first timed GET must not pay for a connect.
                if (await probe.GetAsync(host) == System.Net.HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"service {service} is already routed");
                }

                var startedAt = DateTime.UtcNow;
                var result = await probe.MeasureAsync(
                    () => etcd.PutAllAsync([($"{prefix}/{service}/scheme", "http"), ($"{prefix}/{service}/hosts/1", backend)]),
                    host);
                if (result is { } r)
                {
                    routed.Add(r.RoutedMs);
                    acked.Add(r.PutMs);
                    Console.WriteLine($"SAMPLE {i} started={startedAt:HH:mm:ss.ffffff} routed_ms={r.RoutedMs:F3} put_ack_ms={r.PutMs:F3} probe_gc_ms={r.ProbeGcMs:F3}");
                }
                else
                {
                    failed++;
                }

                await Task.Delay(gap);
            }
        }
        finally
        {
            await etcd.DeletePrefixAsync($"{prefix}/{tag}");
        }

        Results.PrintDistribution(name, routed);
        Results.PrintDistribution($"{name}_put_ack", acked);
        Results.Print($"{name}_failed", failed);
        return 0;
    }
}
