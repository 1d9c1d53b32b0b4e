using Microsoft.Extensions.Logging;

namespace Router.Loops;

/// <summary>
/// The TCP relays' event loops, one per core the process may use, started with the first TCP host_port. Every
/// loop waits on every listener (one of them wakes per new connection), and a connection stays on the loop that
/// accepted it, as HAProxy's threads share its listeners.
/// </summary>
internal sealed class EventLoops(ILoggerFactory loggerFactory)
{
    private readonly Lazy<EventLoop[]> _loops = new(() =>
    {
        var logger = loggerFactory.CreateLogger<EventLoop>();
        return [.. Enumerable.Range(0, Environment.ProcessorCount).Select(i => new EventLoop($"event loop {i}", logger))];
    });

    public IReadOnlyList<EventLoop> All => _loops.Value;
}
