using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Router.Testing;

/// <summary>
/// A scripted HTTP/1.1 backend on a raw TCP listener on 127.0.0.1: it parses each request (head and a
/// Content-Length or chunked body), records it, and lets the test's handler answer with whatever bytes it
/// likes (chunked or close-delimited bodies, interim responses, garbage, truncated bodies). After the handler
/// returns, the next request on the connection is read, unless the handler asked to close it.
/// </summary>
public sealed class RawHttpBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<RawExchange, Task> _handler;
    private readonly TimeSpan? _idleClose;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<RawHttpMessage> _requests = new();
    private readonly ConcurrentQueue<Exception> _errors = new();
    private readonly ConcurrentDictionary<int, Task> _open = new();
    private readonly Task _accepting;
    private int _connections;
    private int _closed;

    private RawHttpBackend(Func<RawExchange, Task> handler, TimeSpan? idleClose)
    {
        _handler = handler;
        _idleClose = idleClose;
        _listener = Ports.ListenLoopback();
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Connections that have ended, whichever side closed them.</summary>
    public int ClosedConnections => Volatile.Read(ref _closed);

    /// <summary>Every request received, in arrival order.</summary>
    public IReadOnlyList<RawHttpMessage> Requests => [.. _requests];

    /// <summary>What went wrong besides a closed connection: a request that did not parse, a handler that threw.</summary>
    public IReadOnlyList<Exception> Errors => [.. _errors];

    /// <summary>
    /// Starts listening. <paramref name="idleClose"/>: a connection with no new request for that long after an
    /// answer is closed by the backend, without warning, as servers with a keep-alive timeout do.
    /// </summary>
    public static RawHttpBackend Start(Func<RawExchange, Task> handler, TimeSpan? idleClose = null) => new(handler, idleClose);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        await _accepting;
        await Task.WhenAll(_open.Values);
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            var number = Interlocked.Increment(ref _connections);
            _open[number] = Task.Run(() => ServeAsync(socket, number));
        }
    }

    private async Task ServeAsync(Socket socket, int number)
    {
        try
        {
            socket.NoDelay = true;
            // A handler blocked on the connection ends with it when the backend stops.
            await using var registration = _stopping.Token.Register(socket.Dispose);
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var reader = new RawHttpReader(PipeReader.Create(stream));
            for (var answered = 0; ; answered++)
            {
                RawHttpMessage? request;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
                {
                    // A keep-alive timeout, as servers have it: from an answer to the next request. The first
                    // request of a connection is waited for as long as it takes (on a busy machine the
                    // router's request can come more than the timeout after its connect).
                    if (_idleClose is { } timeout && answered > 0)
                    {
                        idle.CancelAfter(timeout);
                    }

                    try
                    {
                        request = await reader.ReadRequestAsync(idle.Token);
                    }
                    catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                    {
                        return;
                    }
                }

                if (request is null)
                {
                    return;
                }

                _requests.Enqueue(request);
                var exchange = new RawExchange(request, number, stream, reader, _stopping.Token);
                await _handler(exchange);
                if (exchange.CloseRequested)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            _errors.Enqueue(e);
        }
        finally
        {
            Interlocked.Increment(ref _closed);
        }
    }
}
