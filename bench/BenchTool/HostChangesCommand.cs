namespace BenchTool;

/// <summary>
/// <c>host-changes --etcd URL --router ADDR --backend ADDR [--count 20] [--tag svc-] [--first 100]</c>: for
/// services loaded by <see cref="LoadCommand"/> (whose hosts answer nothing), points host 1 of one service at
/// the live backend and times put → first routed 200. One host change per service, one service at a time.
/// </summary>
internal static class HostChangesCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        using var etcd = new Etcd(args.Get("etcd"));
        using var probe = new RouteProbe(args.Get("router"));
        var prefix = args.Get("prefix", "/services");
        var backend = args.Get("backend");
        var count = args.GetInt("count", 20);
        var first = args.GetInt("first", 100);
        var tag = args.Get("tag", "svc-");
        var gap = TimeSpan.FromMilliseconds(args.GetInt("gap-ms", 50));

        var routed = new List<double>(count);
        var failed = 0;
        await etcd.WarmUpAsync($"/bench-warm-up/{tag}");

        // Opens the probe's kept-alive connection: the first timed GET must not pay for a connect.
        await probe.GetAsync("warm-up.bench");
        for (var i = 0; i < count; i++)
        {
            var service = $"{tag}{first + i:D5}";
            var result = await probe.MeasureAsync(
                () => etcd.Kv.PutAsync(new Etcdserverpb.PutRequest
                {
                    Key = Google.Protobuf.ByteString.CopyFromUtf8($"{prefix}/{service}/hosts/1"),
                    Value = Google.Protobuf.ByteString.CopyFromUtf8(backend),
                }).ResponseAsync,
                $"{service}.bench");
            if (result is { } r)
            {
                routed.Add(r.RoutedMs);
            }
            else
            {
                failed++;
            }

            await Task.Delay(gap);
        }

        Results.PrintDistribution("host_change_routed", routed);
        Results.Print("host_change_failed", failed);
        return 0;
    }
}
