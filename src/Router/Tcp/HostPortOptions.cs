using System.Net;

namespace Router.Tcp;

/// <summary>Where host_port listeners bind, the ports no service may take, and the TCP relays' limits.</summary>
internal sealed record HostPortOptions
{
    /// <summary><c>--tcp-bind</c>.</summary>
    public IPAddress Bind { get; init; } = IPAddress.Any;

    /// <summary>The router's own ports (port → option naming it), refused as a host_port.</summary>
    public IReadOnlyDictionary<int, string> OwnPorts { get; init; } = new Dictionary<int, string>();

    /// <summary>A relayed connection with no bytes either way for this long is closed (<c>--tcp-idle-timeout</c>).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Open relays allowed per host_port, after lowering to what the open-file limit allows.</summary>
    public int MaxConnectionsPerPort { get; init; } = 10_000;

    /// <summary>Relays run on the router's own epoll loops (<c>--tcp-relay epoll</c>, Linux), not on .NET's sockets.</summary>
    public bool RelayOnLoops { get; init; }

    /// <summary>Open relays allowed on all host_ports together; null without an open-file limit.</summary>
    public int? MaxConnectionsTotal { get; init; }
}
