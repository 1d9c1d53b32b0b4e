namespace Router.Tcp;

/// <summary>A listener on one service's host_port: TCP relay or HTTP.</summary>
internal interface IPortListener
{
    int Port { get; }

    string Service { get; }

    /// <summary><c>tcp</c> or <c>http</c>.</summary>
    string Kind { get; }

    int OpenConnections { get; }

    /// <summary>Stops accepting at once; open connections get up to <paramref name="drain"/> to finish, then are closed.</summary>
    Task StopAsync(TimeSpan drain);
}
