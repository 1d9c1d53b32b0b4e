namespace Router.Tcp;

/// <summary>
/// One side of a <see cref="Relay"/>: a socket (the TCP host_port relay, every backend) or a Kestrel
/// connection's pipes (TLS passthrough on the HTTPS port). A failure ends the relay: an end reports a reset
/// or aborted connection as a value where it can (an exception per connection costs more than the relay), and
/// may also throw <see cref="System.Net.Sockets.SocketException"/>, <see cref="IOException"/>,
/// <see cref="ObjectDisposedException"/> or <see cref="OperationCanceledException"/>.
/// </summary>
internal abstract class RelayEnd : IDisposable
{
    /// <summary>The result of a read on a connection that failed (reset, aborted).</summary>
    public const int Failed = -1;

    /// <summary>Waits until data (or the end) can be read, without holding a buffer meanwhile; false when the connection failed.</summary>
    public abstract ValueTask<bool> WaitReadableAsync();

    /// <summary>Reads what is there into <paramref name="buffer"/>; 0 at the end of the stream, <see cref="Failed"/> when the connection failed.</summary>
    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer);

    /// <summary>Writes all of <paramref name="data"/>; false when the connection failed.</summary>
    public abstract ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> data);

    /// <summary>Tells the peer nothing more comes from this side (half-close); it may still send.</summary>
    public abstract void ShutdownSend();

    /// <summary>Ends the connection now, both ways.</summary>
    public abstract void Abort();

    /// <summary>
    /// Ends both directions because the relay failed, without closing yet: a read waiting on this end ends as
    /// at the end of the stream. Never throws. By default the same as <see cref="Abort"/>.
    /// </summary>
    public virtual void Stop() => Abort();

    /// <summary>Lets go of the connection once the relay is over (both directions ended).</summary>
    public abstract void Dispose();
}
