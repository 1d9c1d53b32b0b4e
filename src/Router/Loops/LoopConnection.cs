using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Router.Loops;

/// <summary>
/// One client connection of <see cref="LoopTransport"/>, as Kestrel sees a connection: two pipes.
/// <list type="bullet">
/// <item>Input: the loop receives into the input pipe when epoll reports the socket readable (edge-triggered: until
/// a receive finds fewer bytes than it had room for) and flushes once, which runs the reader (the direct path,
/// Kestrel's HTTP layer) inline on the loop. A reader that falls 1 MiB behind pauses receiving.</item>
/// <item>Output: whoever flushes the output pipe sends at once, on its own thread (the loop for the direct path;
/// a backend's thread for YARP's responses). A send the socket cannot take waits for the loop to report it
/// writable.</item>
/// </list>
/// Only the loop closes the socket, and only after the send side has ended, so a send on another thread never
/// reaches a descriptor that was closed and given to someone else.
/// </summary>
internal sealed class LoopConnection : ConnectionContext, ILoopTarget, IConnectionIdFeature, IConnectionTransportFeature,
    IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature, IConnectionLifetimeNotificationFeature
{
    private const uint Events = Libc.EpollIn | Libc.EpollOut | Libc.EpollRdHup | Libc.EpollEt;

    // As Kestrel's limits: 1 MiB of request bytes unread by the handler (MaxRequestBufferSize), 64 KiB of
    // response bytes unsent (MaxResponseBufferSize), before the other side waits.
    private static readonly PipeOptions InputOptions = new(
        pool: MemoryPool<byte>.Shared, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, minimumSegmentSize: 4096, useSynchronizationContext: false);

    private static readonly PipeOptions OutputOptions = new(
        pool: MemoryPool<byte>.Shared, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, minimumSegmentSize: 4096, useSynchronizationContext: false);

    // Received per turn before the loop flushes and serves its other connections: a client streaming a body as
    // fast as the loop reads it would otherwise keep the loop, and the unflushed bytes would grow without bound.
    private const int MaxPerTurn = 256 * 1024;

    private static long s_lastId;

    private readonly EventLoop _loop;
    private readonly int _descriptor;
    private readonly Pipe _input = new(InputOptions);
    private readonly Pipe _output = new(OutputOptions);
    private readonly CancellationTokenSource _closed = new();
    private readonly Lock _writeGate = new();
    private readonly LoopFeatures _features;
    private readonly Action _receiveLater;
    private readonly Action? _afterClose;
    private CancellationTokenSource? _closeRequested;
    private Task _sending = Task.CompletedTask;
    private EndPoint? _local;
    private string? _id;
    private IDictionary<object, object?>? _items;

    // Loop thread only.
    private bool _readable = true;
    private bool _peerClosed;
    private bool _inputDone;
    private bool _inputPaused;
    private bool _socketClosed;

    // Any thread.
    private int _writeEdges;
    private TaskCompletionSource? _writeWaiter;
    private int _aborted;
    private int _closedFired;
    private int _closedWatched;
    private ConnectionAbortedException? _abortReason;

    private LoopConnection(EventLoop loop, int descriptor, IPEndPoint? remote, Action? afterClose)
    {
        _loop = loop;
        _descriptor = descriptor;
        _afterClose = afterClose;
        RemoteEndPoint = remote;
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
        _receiveLater = Receive;
        _features = new LoopFeatures(this);
    }

    public override string ConnectionId
    {
        get => _id ??= "L" + Interlocked.Increment(ref s_lastId).ToString("X", System.Globalization.CultureInfo.InvariantCulture);
        set => _id = value;
    }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed
    {
        get
        {
            // Fired only once someone holds the token: a connection nobody watches costs no hop to the thread pool.
            if (Interlocked.Exchange(ref _closedWatched, 1) == 0 && Volatile.Read(ref _closedFired) != 0)
            {
                CancelClosedLater();
            }

            return _closed.Token;
        }

        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Asked to close between requests (the server is stopping). Kestrel puts its own in place of this one when the
    /// connection reaches it; this one serves the handler the listener runs first (<see cref="LoopListener"/>).
    /// </summary>
    public CancellationToken ConnectionClosedRequested
    {
        get => LazyInitializer.EnsureInitialized(ref _closeRequested).Token;
        set => throw new NotSupportedException();
    }

    public override EndPoint? LocalEndPoint
    {
        get => _local ??= Libc.LocalEndPoint(_descriptor);
        set => _local = value;
    }

    public override EndPoint? RemoteEndPoint { get; set; }

    /// <summary>The loop this connection's socket lives on.</summary>
    public EventLoop Loop => _loop;

    /// <summary>The listener's first handler handed the connection on to Kestrel, which owns it from then on.</summary>
    public bool HandedOn { get; set; }

    /// <summary>
    /// Takes an accepted socket onto <paramref name="loop"/> (its thread): registered and its send side started; null,
    /// with the socket closed and errno set, when epoll refuses it. <paramref name="afterClose"/> runs on the loop
    /// once the socket is closed.
    /// </summary>
    public static LoopConnection? Start(EventLoop loop, int descriptor, IPEndPoint? remote, Action? afterClose = null)
    {
        _ = Libc.TrySetNoDelay(descriptor);
        var connection = new LoopConnection(loop, descriptor, remote, afterClose);
        if (!loop.Register(descriptor, connection, Events))
        {
            var error = Libc.LastError;
            _ = Libc.Close(descriptor);
            Marshal.SetLastPInvokeError(error);
            return null;
        }

        connection._sending = connection.SendAsync();
        return connection;
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        _abortReason = abortReason;
        _loop.Post(AbortOnLoop);
    }

    public override void Abort() => Abort(new ConnectionAbortedException("The connection was aborted by the application."));

    public void RequestClose()
    {
        try
        {
            LazyInitializer.EnsureInitialized(ref _closeRequested).Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public override async ValueTask DisposeAsync()
    {
        // Kestrel completes both pipes before it disposes; the send side ends once it has sent what was written.
        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        await _sending.ConfigureAwait(false);
        if (_loop.IsCurrent)
        {
            CloseOnLoop();
            await base.DisposeAsync().ConfigureAwait(false);
            return;
        }

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Post(() =>
        {
            CloseOnLoop();
            closed.SetResult();
        });
        await closed.Task.ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    public void OnEvent(int descriptor, uint events)
    {
        if ((events & (Libc.EpollOut | Libc.EpollErr | Libc.EpollHup)) != 0)
        {
            Writable();
        }

        if ((events & (Libc.EpollRdHup | Libc.EpollHup | Libc.EpollErr)) != 0)
        {
            // Data and the close can come in one edge, and no edge follows for a close already queued: read to the end.
            _peerClosed = true;
        }

        if ((events & (Libc.EpollIn | Libc.EpollRdHup | Libc.EpollHup | Libc.EpollErr)) != 0)
        {
            _readable = true;
            Receive();
        }
    }

    public void Fault()
    {
        _abortReason ??= new ConnectionAbortedException("the connection's handler failed");
        AbortOnLoop();
    }

    /// <summary>Receives what the socket holds into the input pipe, then flushes once (the reader runs inline).</summary>
    private unsafe void Receive()
    {
        if (_inputDone || _inputPaused || _socketClosed)
        {
            return;
        }

        var writer = _input.Writer;
        var received = 0;
        while (_readable)
        {
            var memory = writer.GetMemory();
            nint count;
            fixed (byte* bytes = memory.Span)
            {
                count = Libc.Recv(_descriptor, bytes, memory.Length, 0);
            }

            if (count > 0)
            {
                writer.Advance((int)count);
                received += (int)count;

                // Fewer bytes than there was room for: drained, and the next arrival raises a new edge.
                _readable = count == memory.Length || _peerClosed;
                if (received >= MaxPerTurn)
                {
                    break;
                }

                continue;
            }

            if (count == 0)
            {
                // The client's FIN: what it sent is handed on, then its end of the input.
                _inputDone = true;
                Flush(received);
                writer.Complete();
                FireClosed();
                return;
            }

            var error = Libc.LastError;
            if (error == Libc.EAgain)
            {
                _readable = false;
                break;
            }

            _inputDone = true;
            Flush(received);
            writer.Complete(new ConnectionResetException(Libc.Describe(error)));
            StopSending();
            FireClosed();
            return;
        }

        Flush(received);
        if (_readable && !_inputDone && !_inputPaused && !_socketClosed)
        {
            // More is waiting: after the loop's other work, since no edge will come for it.
            _loop.Post(_receiveLater);
        }
    }

    private void Flush(int received)
    {
        if (received == 0)
        {
            return;
        }

        var flush = _input.Writer.FlushAsync();
        if (flush.IsCompletedSuccessfully)
        {
            _inputDone |= flush.Result.IsCompleted;
            return;
        }

        // The reader is 1 MiB behind: receive again once it has caught up.
        _inputPaused = true;
        _ = ResumeAfterAsync(flush);
    }

    private async Task ResumeAfterAsync(ValueTask<FlushResult> flush)
    {
        var done = true;
        try
        {
            done = (await flush.ConfigureAwait(false)).IsCompleted;
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
        }

        _loop.Post(() =>
        {
            _inputPaused = false;
            _inputDone |= done;
            Receive();
        });
    }

    /// <summary>The send side: runs on whichever thread flushes the output pipe, until Kestrel completes it.</summary>
    private async Task SendAsync()
    {
        var reader = _output.Reader;
        Exception? failure = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    if (!await SendAllAsync(segment).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            failure = e;
        }
        finally
        {
            await reader.CompleteAsync(failure).ConfigureAwait(false);
        }
    }

    /// <summary>Sends <paramref name="bytes"/> whole; false when the socket failed (the connection is then aborted).</summary>
    private async ValueTask<bool> SendAllAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (Volatile.Read(ref _aborted) != 0)
            {
                return false;
            }

            var edges = Volatile.Read(ref _writeEdges);
            var sent = SendSome(bytes.Span);
            if (sent >= 0)
            {
                bytes = bytes[(int)sent..];
                continue;
            }

            var error = Libc.LastError;
            if (error != Libc.EAgain)
            {
                Abort(new ConnectionAbortedException($"send failed: {Libc.Describe(error)}"));
                return false;
            }

            await WaitWritableAsync(edges).ConfigureAwait(false);
        }

        return true;
    }

    private unsafe nint SendSome(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* data = bytes)
        {
            return Libc.Send(_descriptor, data, bytes.Length, Libc.MsgNoSignal);
        }
    }

    /// <summary>Done at once when the loop saw the socket writable since <paramref name="edges"/> was read.</summary>
    private Task WaitWritableAsync(int edges)
    {
        lock (_writeGate)
        {
            if (Volatile.Read(ref _writeEdges) != edges || Volatile.Read(ref _aborted) != 0)
            {
                return Task.CompletedTask;
            }

            _writeWaiter = new TaskCompletionSource();
            return _writeWaiter.Task;
        }
    }

    /// <summary>The socket may take bytes again: a send waiting for that goes on (inline, on the calling thread).</summary>
    private void Writable()
    {
        Interlocked.Increment(ref _writeEdges);
        if (Volatile.Read(ref _writeWaiter) is null)
        {
            return;
        }

        TaskCompletionSource? waiter;
        lock (_writeGate)
        {
            (waiter, _writeWaiter) = (_writeWaiter, null);
        }

        waiter?.TrySetResult();
    }

    /// <summary>Ends the send side where it waits: for bytes to send, or for the socket to take them.</summary>
    private void StopSending()
    {
        _output.Reader.CancelPendingRead();
        Writable();
    }

    private void AbortOnLoop()
    {
        Volatile.Write(ref _aborted, 1);
        var reason = _abortReason ?? new ConnectionAbortedException();
        if (!_socketClosed)
        {
            // The client sees the connection end now; the descriptor stays ours until the send side has ended.
            _ = Libc.Shutdown(_descriptor, Libc.ShutReadWrite);
        }

        if (!_inputDone)
        {
            _inputDone = true;
            _input.Writer.Complete(reason);
        }

        StopSending();
        FireClosed();
    }

    private void CloseOnLoop()
    {
        if (!_inputDone)
        {
            _inputDone = true;
            _input.Writer.Complete();
        }

        if (!_socketClosed)
        {
            _socketClosed = true;
            _loop.Close(_descriptor);
            _afterClose?.Invoke();
        }

        FireClosed();
    }

    private void FireClosed()
    {
        if (Interlocked.Exchange(ref _closedFired, 1) == 0 && Volatile.Read(ref _closedWatched) != 0)
        {
            CancelClosedLater();
        }
    }

    // As Kestrel's socket transport: the token fires on the thread pool, never inside the loop's own handling.
    // (Both FireClosed and the token's first reader may get here; cancelling twice is harmless.)
    private void CancelClosedLater() => ThreadPool.UnsafeQueueUserWorkItem(static c => c._closed.Cancel(), this, preferLocal: false);

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// The connection's features: the six it implements itself, answered without a table, and whatever is set
    /// later (Kestrel sets its own on a connection handed on to it) in a collection made at the first set, which
    /// comes first. A connection served to its end by the listener's first handler makes no table at all.
    /// </summary>
    private sealed class LoopFeatures(LoopConnection connection) : IFeatureCollection
    {
        private static readonly Type[] Own =
        [
            typeof(IConnectionIdFeature), typeof(IConnectionTransportFeature), typeof(IConnectionItemsFeature),
            typeof(IConnectionLifetimeFeature), typeof(IConnectionEndPointFeature), typeof(IConnectionLifetimeNotificationFeature),
        ];

        private FeatureCollection? _set;

        public bool IsReadOnly => false;

        public int Revision => _set?.Revision ?? 0;

        public object? this[Type key]
        {
            get => _set?[key] ?? (Array.IndexOf(Own, key) >= 0 ? connection : null);
            set => (_set ??= new FeatureCollection())[key] = value;
        }

        public TFeature? Get<TFeature>() => (TFeature?)this[typeof(TFeature)];

        public void Set<TFeature>(TFeature? instance) => this[typeof(TFeature)] = instance;

        public IEnumerator<KeyValuePair<Type, object>> GetEnumerator()
        {
            foreach (var type in Own)
            {
                if (_set?[type] is null)
                {
                    yield return new KeyValuePair<Type, object>(type, connection);
                }
            }

            if (_set is not null)
            {
                foreach (var feature in _set)
                {
                    yield return feature;
                }
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
