using System.Net.Sockets;

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

    public override void Dispose()
    {
        socket.Dispose();

        // Both operations are over: the relay releases its ends only after both pumps ended.
        _receive.Dispose();
        _send.Dispose();
    }
}
