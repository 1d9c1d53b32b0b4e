using System.Globalization;
using System.Text.Json;
using Router.Testing;

namespace Router.Cluster.Tests;

/// <summary>Constant GET load running in a namespace (load.py) until stopped; the counts come back at the end.</summary>
public sealed class Load(TestProcess process, string stopFile) : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Requests answered 200 so far, from the load's progress lines.</summary>
    public int Ok => Progress().Ok;

    /// <summary>Waits until <paramref name="count"/> more requests than now got a 200: the load went on through whatever happened.</summary>
    public async Task WaitForMoreOkAsync(int count, TimeSpan? timeout = null)
    {
        var target = Ok + count;
        await Wait.UntilAsync(() =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the load exited early:\n{process.Output}");
            }

            return Ok >= target;
        }, $"{count} more successful requests (now {Ok}, failed {Progress().Failed})", timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>Stops the load and returns what it counted.</summary>
    public async Task<LoadResult> StopAsync()
    {
        await File.WriteAllTextAsync(stopFile, "stop");
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => process.Lines.Any(l => l.StartsWith('{')), "the load's summary line");
        var line = process.Lines.Last(l => l.StartsWith('{'));
        return JsonSerializer.Deserialize<LoadResult>(line, Json)!;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            await File.WriteAllTextAsync(stopFile, "stop");
            try
            {
                await process.WaitForExitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
            }
        }

        await process.DisposeAsync();
        File.Delete(stopFile);
    }

    private (int Ok, int Failed) Progress()
    {
        var last = process.Lines.LastOrDefault(l => l.StartsWith("progress ", StringComparison.Ordinal));
        if (last is null)
        {
            return (0, 0);
        }

        var parts = last.Split(' ');
        return (int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
    }
}
