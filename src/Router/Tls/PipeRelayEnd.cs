using System.Buffers;
using Microsoft.AspNetCore.Connections;
using Router.Tcp;

namespace Router.Tls;

/// <summary>
/// A relay end on a Kestrel connection's pipes: the client side of TLS passthrough. Kestrel keeps the socket;
/// what the ClientHello peek left unconsumed is read first, so the backend gets every byte the client sent.
/// </summary>
internal sealed class PipeRelayEnd(ConnectionContext connection) : RelayEnd
{
    public override async ValueTask<bool> WaitReadableAsync()
    {
        var result = await connection.Transport.Input.ReadAsync().ConfigureAwait(false);

        // Nothing consumed, nothing examined: the read that follows gets the same bytes at once.
        connection.Transport.Input.AdvanceTo(result.Buffer.Start);
        return !result.IsCanceled;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer)
    {
        var input = connection.Transport.Input;
        var result = await input.ReadAsync().ConfigureAwait(false);
        if (result.IsCanceled)
        {
            return Failed;
        }

        var data = result.Buffer;
        var count = (int)Math.Min(data.Length, buffer.Length);
        data.Slice(0, count).CopyTo(buffer.Span);
        input.AdvanceTo(data.GetPosition(count));
        return count;
    }

    public override async ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> data)
    {
        var flushed = await connection.Transport.Output.WriteAsync(data).ConfigureAwait(false);

        // Completed: the client connection is closed.
        return !(flushed.IsCompleted || flushed.IsCanceled);
    }

    // Kestrel closes the sending side of the socket once the output is complete.
    public override void ShutdownSend() => connection.Transport.Output.Complete();

    public override void Abort() => connection.Abort(new ConnectionAbortedException("TLS passthrough relay ended"));

    public override void Dispose()
    {
        // A finished relay leaves the connection to Kestrel, which closes it when the middleware returns.
        connection.Transport.Input.Complete();
        connection.Transport.Output.Complete();
    }
}
