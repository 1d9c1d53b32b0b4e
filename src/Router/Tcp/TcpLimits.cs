using Router.Metrics;

namespace Router.Tcp;

/// <summary>
/// Limits of the TCP relays, shared by every host_port listener: how long a silent connection lives, how
/// many may be open per port, and how many all ports together may hold (what the open-file limit allows).
/// </summary>
internal sealed class TcpLimits(TimeSpan idleTimeout, int maxConnectionsPerPort, int? maxConnectionsTotal, TcpCounters counters)
{
    private int _total;

    public TimeSpan IdleTimeout { get; } = idleTimeout;

    /// <summary>Open relays allowed per host_port (after lowering to what the descriptor budget allows).</summary>
    public int MaxConnections { get; } = maxConnectionsPerPort;

    /// <summary>Open relays allowed over all host_ports, or null without an open-file limit.</summary>
    public int? MaxConnectionsTotal { get; } = maxConnectionsTotal;

    public TcpCounters Counters { get; } = counters;

    /// <summary>Takes a place in the process-wide budget; false when it is used up.</summary>
    public bool TryTakeGlobal()
    {
        if (MaxConnectionsTotal is not { } max)
        {
            return true;
        }

        if (Interlocked.Increment(ref _total) <= max)
        {
            return true;
        }

        Interlocked.Decrement(ref _total);
        return false;
    }

    public void ReturnGlobal()
    {
        if (MaxConnectionsTotal is not null)
        {
            Interlocked.Decrement(ref _total);
        }
    }
}
