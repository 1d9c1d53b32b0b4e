using Microsoft.Extensions.Logging;

namespace Router.Loops;

/// <summary>
/// The router's event loops, one per core the process may use, started with the first listener on them (the HTTP port
/// with <c>--http-transport epoll</c>, a TCP host_port with <c>--tcp-relay epoll</c>). Every loop waits on every
/// listener (one of them wakes per new connection), and a connection stays on the loop that accepted it, as HAProxy's
/// threads share its listeners.
/// </summary>
internal sealed class EventLoops(ILoggerFactory loggerFactory)
{
    private readonly Lazy<EventLoop[]> _loops = new(() =>
    {
        var logger = loggerFactory.CreateLogger<EventLoop>();
        return [.. Enumerable.Range(0, Environment.ProcessorCount).Select(i => new EventLoop(i, logger))];
    });

    public IReadOnlyList<EventLoop> All => _loops.Value;
}
