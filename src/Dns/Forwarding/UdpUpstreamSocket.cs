using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Router.Dns.Wire;

namespace Router.Dns.Forwarding;

/// <summary>
/// A long-lived UDP socket shared by many queries: each gets a random free message id, and one receive loop
/// hands answers to the waiting query by id. No socket is opened per query.
/// </summary>
internal sealed partial class UdpUpstreamSocket : IDisposable
{
    private const int MaxMessage = ushort.MaxValue;

    private readonly Socket _socket;
    private readonly PendingExchange?[] _pending = new PendingExchange?[ushort.MaxValue + 1];
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly Task _receiveLoop;

    public UdpUpstreamSocket(AddressFamily family, ILogger logger)
    {
        _logger = logger;
        _socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    public AddressFamily Family => _socket.AddressFamily;

    /// <summary>Sends the query with an id of our own and waits for its answer; null on timeout.</summary>
    public async Task<byte[]?> ExchangeAsync(ReadOnlyMemory<byte> query, int questionEnd, SocketAddress upstream, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pending = new PendingExchange(upstream, query[DnsHeader.Size..questionEnd]);
        var id = Claim(pending);
        if (id < 0)
        {
            return null;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(query.Length);
        try
        {
            query.Span.CopyTo(buffer);
            DnsHeader.WriteId(buffer, (ushort)id);
            await _socket.SendToAsync(buffer.AsMemory(0, query.Length), SocketFlags.None, upstream, cancellationToken).ConfigureAwait(false);
            return await pending.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
        catch (SocketException e)
        {
            Log.SendFailed(_logger, e.SocketErrorCode);
            return null;
        }
        finally
        {
            Interlocked.CompareExchange(ref _pending[id], null, pending);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try
        {
            _receiveLoop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>RFC 5452 §4.3: ids are unpredictable, drawn from a cryptographic generator.</summary>
    private int Claim(PendingExchange pending)
    {
        for (var attempt = 0; attempt < 32; attempt++)
        {
            var id = RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
            if (Interlocked.CompareExchange(ref _pending[id], pending, null) is null)
            {
                return id;
            }
        }

        return -1;
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[MaxMessage];
        var from = new SocketAddress(_socket.AddressFamily);
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // An ICMP error reported on the socket; the query it belongs to times out and fails over.
                Log.ReceiveFailed(_logger, e.SocketErrorCode);
                continue;
            }

            if (received < DnsHeader.Size)
            {
                continue;
            }

            var answer = buffer.AsSpan(0, received);
            var pending = Volatile.Read(ref _pending[DnsHeader.ReadId(answer)]);
            if (pending is not null && pending.Matches(from, answer))
            {
                pending.TrySetResult(answer.ToArray());
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4201, Level = LogLevel.Debug, Message = "Sending to an upstream failed: {Error}")]
        public static partial void SendFailed(ILogger logger, SocketError error);

        [LoggerMessage(EventId = 4202, Level = LogLevel.Debug, Message = "Receiving from upstreams failed: {Error}")]
        public static partial void ReceiveFailed(ILogger logger, SocketError error);
    }
}
