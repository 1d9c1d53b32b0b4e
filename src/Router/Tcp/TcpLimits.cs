namespace Router.Tcp;

/// <summary>Limits of the TCP relays: how long a silent connection lives, how many may be open per port.</summary>
internal sealed record TcpLimits(TimeSpan IdleTimeout, int MaxConnections);
