using System.Diagnostics;

namespace BenchTool;

/// <summary>
/// <c>load --etcd URL --prefix P --services N --hosts H</c>: puts N services of H hosts each in transactions of
/// <see cref="Etcd.MaxTxnOps"/> keys, several in flight. Host addresses are distinct loopback addresses that
/// no request is sent to.
/// </summary>
internal static class LoadCommand
{
    public static async Task<int> RunAsync(Arguments args)
    {
        using var etcd = new Etcd(args.Get("etcd"));
        var prefix = args.Get("prefix", "/services");
        var services = args.GetInt("services", 10_000);
        var hosts = args.GetInt("hosts", 3);
        var tag = args.Get("tag", "svc-");

        var pairs = new List<(string, string)>(services * (hosts + 1));
        for (var i = 0; i < services; i++)
        {
            var name = $"{tag}{i:D5}";
            pairs.Add(($"{prefix}/{name}/scheme", "http"));
            for (var h = 1; h <= hosts; h++)
            {
                pairs.Add(($"{prefix}/{name}/hosts/{h}", $"127.{1 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}:{20000 + h}"));
            }
        }

        var started = Stopwatch.GetTimestamp();
        using var inFlight = new SemaphoreSlim(8);
        var tasks = pairs.Chunk(Etcd.MaxTxnOps).Select(async chunk =>
        {
            await inFlight.WaitAsync();
            try
            {
                await etcd.PutAllAsync(chunk);
            }
            finally
            {
                inFlight.Release();
            }
        });
        await Task.WhenAll(tasks);
        Results.Print("load_keys", pairs.Count);
        Results.Print("load_ms", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return 0;
    }
}
