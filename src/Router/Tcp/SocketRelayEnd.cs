using System.Net.Sockets;
using Router.Loops;

namespace Router.Tcp;

/// <summary>A relay end on a connected socket; disposing it closes the socket. Resets and aborts come back as values, not exceptions.</summary>
internal sealed class SocketRelayEnd(Socket socket) : RelayEnd
{
    private readonly SocketOperation _receive = new();
    private readonly SocketOperation _send = new();

    // A zero-byte receive waits for data (or the end) without a buffer: an idle relay holds its sockets and
    // its state, not 2 x 64 KiB (Kestrel's socket transport waits the same way).
    public override async ValueTask<bool> WaitReadableAsync() =>
        await _receive.ReceiveAsync(socket, Memory<byte>.Empty).ConfigureAwait(false) != SocketOperation.Failed;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer) => _receive.ReceiveAsync(socket, buffer);

    public override async ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> data)
    {
        var sent = 0;
        while (sent < data.Length)
        {
            var count = await _send.SendAsync(socket, data[sent..]).ConfigureAwait(false);
            if (count <= 0)
            {
                return false;
            }

            sent += count;
        }

        return true;
    }

    public override void ShutdownSend() => socket.Shutdown(SocketShutdown.Send);

    public override void Abort() => socket.Dispose();

    /// <summary>
    /// shutdown(2) both ways, its error ignored: the other end of a failed relay is often the reset one, where
    /// <see cref="Socket.Shutdown"/> would throw. A read pending here then ends on the socket thread with an end
    /// of stream; closing a socket with a read pending instead hands its completion to the thread pool, a
    /// wake-up and a thread switch per connection.
    /// </summary>
    public override void Stop()
    {
        if (!OperatingSystem.IsLinux())
        {
            Abort();
            return;
        }

        var handle = socket.SafeHandle;
        if (handle.IsClosed)
        {
            // Aborted (closed) already, the usual case after Abort: nothing is left to stop.
            return;
        }

        var added = false;
        try
        {
            // The reference keeps the descriptor from being closed (and its number reused) during the call.
            handle.DangerousAddRef(ref added);
            _ = Libc.Shutdown((int)handle.DangerousGetHandle(), Libc.ShutReadWrite);
        }
        catch (ObjectDisposedException)
        {
            // Closed since the check above.
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public override void Dispose()
    {
        socket.Dispose();

        // Both operations are over: the relay releases its ends only after both pumps ended.
        _receive.Dispose();
        _send.Dispose();
    }
}
