using System.Buffers;
using System.Net;
using Router.Metrics;

namespace Router.Tcp;

/// <summary>
/// One client connection and its backend connection, copied both ways with half-close passed through: the
/// byte pump of the TCP host_port relay and of TLS passthrough. Counts bytes per service and remembers when
/// the last byte went through, for the idle timeout.
/// </summary>
internal sealed class Relay(RelayEnd client, RelayEnd server, IPAddress? clientAddress, TcpServiceCounters counters, TimeProvider time) : IOpenRelay, IDisposable
{
    private const int BufferSize = 64 * 1024;

    private long _lastActivity = time.GetTimestamp();
    private int _failed;

    public IPAddress? ClientAddress => clientAddress;

    public long LastActivity => Volatile.Read(ref _lastActivity);

    public async Task RunAsync()
    {
        var up = PumpAsync(client, server, fromClient: true);
        var down = PumpAsync(server, client, fromClient: false);
        await Task.WhenAll(up, down).ConfigureAwait(false);
    }

    public void Abort()
    {
        client.Abort();
        server.Abort();
    }

    public void Dispose()
    {
        client.Dispose();
        server.Dispose();
    }

    /// <summary>
    /// Ends both directions after a failure (a reset, a failed write) without closing: the other direction's
    /// pending read ends as an end of stream on the socket thread, and both connections close when the relay
    /// is disposed. Timers and the registry end relays with <see cref="Abort"/>.
    /// </summary>
    private void Fail()
    {
        if (Interlocked.Exchange(ref _failed, 1) == 0)
        {
            client.Stop();
            server.Stop();
        }
    }

    private async Task PumpAsync(RelayEnd from, RelayEnd to, bool fromClient)
    {
        byte[]? buffer = null;
        try
        {
            // No buffer while waiting: an idle relay holds its two connections and this state only.
            while (await from.WaitReadableAsync().ConfigureAwait(false))
            {
                buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                int read;
                do
                {
                    read = await from.ReadAsync(buffer.AsMemory()).ConfigureAwait(false);
                    if (read == 0)
                    {
                        // Half-close: the other side learns there is no more, and may still answer. After a
                        // failure this end of stream is the stop, and the other side is gone already.
                        if (Volatile.Read(ref _failed) == 0)
                        {
                            to.ShutdownSend();
                        }

                        return;
                    }

                    if (read < 0)
                    {
                        Fail();
                        return;
                    }

                    Volatile.Write(ref _lastActivity, time.GetTimestamp());
                    if (fromClient)
                    {
                        counters.AddFromClient(read);
                    }
                    else
                    {
                        counters.AddToClient(read);
                    }

                    if (!await to.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false))
                    {
                        Fail();
                        return;
                    }
                }

                // A full buffer means more is probably waiting: keep the buffer while data streams.
                while (read == buffer.Length);

                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }

            // The wait found the connection failed (reset, aborted): end both directions, as a failed read or write does.
            Fail();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            // The same, reported by an end that throws (a pipe), or a half-close on a connection already gone.
            Abort();
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
