using System.Net.Sockets;
using System.Text;

namespace Router.Testing;

/// <summary>One request on a <see cref="RawHttpBackend"/> connection: the handler answers through it.</summary>
public sealed class RawExchange
{
    private readonly NetworkStream _stream;
    private readonly RawHttpReader _reader;

    internal RawExchange(RawHttpMessage request, int connection, NetworkStream stream, RawHttpReader reader, CancellationToken stopping)
    {
        Request = request;
        Connection = connection;
        _stream = stream;
        _reader = reader;
        Stopping = stopping;
    }

    public RawHttpMessage Request { get; }

    /// <summary>The number of the connection this request came on, from 1 in accept order.</summary>
    public int Connection { get; }

    /// <summary>Fires when the backend is disposed.</summary>
    public CancellationToken Stopping { get; }

    internal bool CloseRequested { get; private set; }

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _stream.WriteAsync(bytes, Stopping);
        await _stream.FlushAsync(Stopping);
    }

    /// <summary>Closes the connection when the handler returns, without having said so in the response.</summary>
    public void Close() => CloseRequested = true;

    /// <summary>
    /// Reads (and drops) whatever comes until the peer closes or resets the connection: true if it did within
    /// <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitPeerClosedAsync(TimeSpan timeout)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Stopping);
        deadline.CancelAfter(timeout);
        try
        {
            await _reader.DrainAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
