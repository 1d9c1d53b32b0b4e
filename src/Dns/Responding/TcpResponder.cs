using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Router.Dns.Responding;

/// <summary>
/// The TCP side (RFC 7766): length-prefixed messages, several per connection, answered in order; idle
/// connections are closed so a client cannot hold a slot forever.
/// </summary>
internal sealed partial class TcpResponder : IAsyncDisposable
{
    private const int MaxConnections = 256;

    /// <summary>RFC 7766 §6.2.3: servers should close idle connections, seconds rather than minutes.</summary>
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _listener;
    private readonly DnsProcessor _processor;
    private readonly ClientFilter _filter;
    private readonly ILogger _logger;
    private readonly LogLimiter _errors = new(TimeSpan.FromSeconds(10));
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, Task> _connections = new();
    private Task _acceptLoop = Task.CompletedTask;

    public TcpResponder(Socket listener, DnsProcessor processor, ClientFilter filter, ILogger logger)
    {
        _listener = listener;
        _processor = processor;
        _filter = filter;
        _logger = logger;
    }

    public void Start() => _acceptLoop = Task.Run(AcceptLoopAsync);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        foreach (var connection in _connections.Keys)
        {
            connection.Dispose();
        }

        await Task.WhenAll([_acceptLoop, .. _connections.Values]).ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                LogError(e);
                continue;
            }

            if (_connections.Count >= MaxConnections)
            {
                client.Dispose();
                continue;
            }

            var handled = new TaskCompletionSource();
            _connections[client] = handled.Task;
            _ = ServeAsync(client, handled);
        }
    }

    private async Task ServeAsync(Socket client, TaskCompletionSource handled)
    {
        var query = ArrayPool<byte>.Shared.Rent(ushort.MaxValue);
        var response = ArrayPool<byte>.Shared.Rent(ushort.MaxValue + 2);
        try
        {
            client.NoDelay = true;
            var allowed = client.RemoteEndPoint is IPEndPoint remote && _filter.IsAllowed(remote.Address);
            while (!_stop.IsCancellationRequested)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                idle.CancelAfter(IdleTimeout);

                // RFC 1035 §4.2.2: a two-byte length, then the message.
                if (!await ReceiveExactlyAsync(client, query.AsMemory(0, 2), idle.Token).ConfigureAwait(false))
                {
                    return;
                }

                var length = BinaryPrimitives.ReadUInt16BigEndian(query);
                if (length == 0 || !await ReceiveExactlyAsync(client, query.AsMemory(0, length), idle.Token).ConfigureAwait(false))
                {
                    return;
                }

                var answer = response.AsMemory(2);
                var result = _processor.Process(query.AsSpan(0, length), allowed, overTcp: true, answer.Span, out var answerLength, out var parsed);
                if (result == ProcessResult.Drop)
                {
                    // Nothing sensible can follow on a stream that carried garbage.
                    return;
                }

                if (result == ProcessResult.Forward)
                {
                    answerLength = await _processor.ForwardAsync(query.AsMemory(0, length), parsed, overTcp: true, answer, _stop.Token).ConfigureAwait(false);
                }

                BinaryPrimitives.WriteUInt16BigEndian(response, (ushort)answerLength);
                await client.SendAsync(response.AsMemory(0, answerLength + 2), SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Idle timeout, shutdown or a client that went away: just close.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogError(e);
        }
        finally
        {
            client.Dispose();
            _connections.TryRemove(client, out _);
            ArrayPool<byte>.Shared.Return(query);
            ArrayPool<byte>.Shared.Return(response);
            handled.TrySetResult();
        }
    }

    /// <summary>False when the client closed the connection before the buffer was full.</summary>
    private static async ValueTask<bool> ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (received == 0)
            {
                return false;
            }

            buffer = buffer[received..];
        }

        return true;
    }

    private void LogError(Exception e)
    {
        if (_errors.TryEnter(out var suppressed))
        {
            Log.ConnectionFailed(_logger, suppressed, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.TcpConnectionFailed, Level = LogLevel.Warning, Message = "A TCP DNS connection failed ({Suppressed} more since the last report)")]
        public static partial void ConnectionFailed(ILogger logger, long suppressed, Exception exception);
    }
}
