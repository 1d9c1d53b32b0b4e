namespace Router.Tcp;

/// <summary>
/// One side of a <see cref="Relay"/>: a socket (the TCP host_port relay, every backend) or a Kestrel
/// connection's pipes (TLS passthrough on the HTTPS port). A failure ends the relay: the ends throw
/// <see cref="System.Net.Sockets.SocketException"/>, <see cref="IOException"/>,
/// <see cref="ObjectDisposedException"/> or <see cref="OperationCanceledException"/>.
/// </summary>
internal abstract class RelayEnd
{
    /// <summary>Waits until data (or the end) can be read, without holding a buffer meanwhile.</summary>
    public abstract ValueTask WaitReadableAsync();

    /// <summary>Reads what is there into <paramref name="buffer"/>; 0 at the end of the stream.</summary>
    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer);

    /// <summary>Writes all of <paramref name="data"/>.</summary>
    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> data);

    /// <summary>Tells the peer nothing more comes from this side (half-close); it may still send.</summary>
    public abstract void ShutdownSend();

    /// <summary>Ends the connection now, both ways.</summary>
    public abstract void Abort();

    /// <summary>Lets go of the connection once the relay is over; by default the same as <see cref="Abort"/>.</summary>
    public virtual void Release() => Abort();
}
