using System.Diagnostics;

namespace Router.Testing;

/// <summary>Waits on a condition with a deadline; never a fixed sleep.</summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var watch = Stopwatch.StartNew();
        Exception? last = null;
        var delay = 5;
        while (watch.Elapsed < limit)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                last = e;
            }

            await Task.Delay(delay);
            delay = Math.Min(delay * 2, 100);
        }

        throw new TimeoutException($"timed out after {limit.TotalSeconds:F0} s waiting for {what}" + (last is null ? "" : $" (last error: {last.Message})"), last);
    }
}
