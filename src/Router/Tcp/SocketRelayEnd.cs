using System.Net.Sockets;

namespace Router.Tcp;

/// <summary>A relay end on a connected socket; disposing it closes the socket.</summary>
internal sealed class SocketRelayEnd(Socket socket) : RelayEnd
{
    // A zero-byte receive waits for data (or the end) without a buffer: an idle relay holds its sockets and
    // its state, not 2 x 64 KiB (Kestrel's socket transport waits the same way).
    public override async ValueTask WaitReadableAsync() => await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer) => socket.ReceiveAsync(buffer, SocketFlags.None);

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        var sent = 0;
        while (sent < data.Length)
        {
            sent += await socket.SendAsync(data[sent..], SocketFlags.None).ConfigureAwait(false);
        }
    }

    public override void ShutdownSend() => socket.Shutdown(SocketShutdown.Send);

    public override void Abort() => socket.Dispose();
}
