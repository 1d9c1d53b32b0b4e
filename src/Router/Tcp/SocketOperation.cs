using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Router.Tcp;

/// <summary>
/// One direction of a relayed socket (its receives or its sends) as a reusable operation that reports a
/// failure as a value. A reset or an aborted connection is how many relays end: <see cref="Socket"/>'s own
/// awaitable calls throw a <see cref="SocketException"/> for it, and the throw and the rethrow in each async
/// frame cost more user time than the rest of a short connection (the connection-rate profile: three
/// exceptions per connection, half the relay's CPU). One instance serves one operation at a time.
/// </summary>
internal sealed class SocketOperation : SocketAsyncEventArgs, IValueTaskSource<int>
{
    /// <summary>The result of an operation that failed: reset, aborted, or the socket already closed.</summary>
    public const int Failed = RelayEnd.Failed;

    private ManualResetValueTaskSourceCore<int> _completion;

    // The relay's continuations need no execution context; not capturing it saves a copy per operation.
    public SocketOperation()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>Bytes received, 0 at the end of the stream (or when <paramref name="buffer"/> is empty and data is there), or <see cref="Failed"/>.</summary>
    public ValueTask<int> ReceiveAsync(Socket socket, Memory<byte> buffer)
    {
        SetBuffer(buffer);
        return Start(socket, receive: true);
    }

    /// <summary>Bytes sent (all of them for a stream socket, which the caller checks), or <see cref="Failed"/>.</summary>
    public ValueTask<int> SendAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        SetBuffer(MemoryMarshal.AsMemory(data));
        return Start(socket, receive: false);
    }

    int IValueTaskSource<int>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    protected override void OnCompleted(SocketAsyncEventArgs e) => _completion.SetResult(Result());

    private ValueTask<int> Start(Socket socket, bool receive)
    {
        _completion.Reset();
        bool pending;
        try
        {
            pending = receive ? socket.ReceiveAsync(this) : socket.SendAsync(this);
        }
        catch (ObjectDisposedException)
        {
            // The relay was aborted between two operations.
            return new ValueTask<int>(Failed);
        }

        return pending ? new ValueTask<int>(this, _completion.Version) : new ValueTask<int>(Result());
    }

    private int Result() => SocketError == SocketError.Success ? BytesTransferred : Failed;
}
