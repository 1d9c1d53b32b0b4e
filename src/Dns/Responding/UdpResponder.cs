using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Router.Dns.Reporting;
using Router.Dns.Wire;

namespace Router.Dns.Responding;

/// <summary>
/// The UDP side: one dedicated thread doing blocking receive and send, which measured faster than an async
/// loop here. Local names and cache hits never leave the thread and allocate nothing; upstream misses go to
/// the thread pool and answer from there.
/// </summary>
internal sealed partial class UdpResponder : IDisposable
{
    /// <summary>Misses waiting for upstream at once; beyond it a flood of unique names gets SERVFAIL at once.</summary>
    private const int MaxInFlight = 4096;

    private readonly Socket _socket;
    private readonly DnsProcessor _processor;
    private readonly ClientFilter _filter;
    private readonly ILogger _logger;
    private readonly LogLimiter _errors = new(TimeSpan.FromSeconds(10));
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private int _inFlight;

    public UdpResponder(Socket socket, DnsProcessor processor, ClientFilter filter, ILogger logger)
    {
        _socket = socket;
        _processor = processor;
        _filter = filter;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "dns-udp" };
    }

    public void Start() => _thread.Start();

    public void Dispose()
    {
        _stop.Cancel();

        // Closing the socket wakes the blocked ReceiveFrom.
        _socket.Dispose();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        _stop.Dispose();
    }

    private void Run()
    {
        var query = new byte[ushort.MaxValue];
        var response = new byte[ushort.MaxValue];
        var client = new SocketAddress(_socket.AddressFamily);
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                received = _socket.ReceiveFrom(query, SocketFlags.None, client);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (!_stop.IsCancellationRequested)
            {
                LogError(e);
                continue;
            }
            catch (SocketException)
            {
                return;
            }

            try
            {
                Handle(query.AsSpan(0, received), response, client);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One bad packet must never stop the loop.
                LogError(e);
            }
        }
    }

    private void Handle(ReadOnlySpan<byte> query, byte[] response, SocketAddress client)
    {
        var result = _processor.Process(query, _filter.IsAllowed(client), overTcp: false, response, out var length, out var parsed);
        switch (result)
        {
            case ProcessResult.Respond:
                SendTo(response.AsSpan(0, length), client);
                break;
            case ProcessResult.Forward when Interlocked.Increment(ref _inFlight) <= MaxInFlight:
                var copy = new SocketAddress(client.Family, client.Size);
                client.Buffer.Span[..client.Size].CopyTo(copy.Buffer.Span);
                _ = ForwardAsync(query.ToArray(), parsed, copy);
                break;
            case ProcessResult.Forward:
                Interlocked.Decrement(ref _inFlight);
                _processor.Statistics.Answered(parsed.Question.Type, AnswerSource.Responder, DnsResponseCode.ServFail);
                SendTo(response.AsSpan(0, ResponseWriter.WriteError(query, parsed, echoQuestion: true, DnsResponseCode.ServFail, response)), client);
                break;
            default:
                break;
        }
    }

    private async Task ForwardAsync(byte[] query, DnsQuery parsed, SocketAddress client)
    {
        var response = ArrayPool<byte>.Shared.Rent(ushort.MaxValue);
        try
        {
            var length = await _processor.ForwardAsync(query, parsed, overTcp: false, response, _stop.Token).ConfigureAwait(false);
            SendTo(response.AsSpan(0, length), client);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && _stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogError(e);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            ArrayPool<byte>.Shared.Return(response);
        }
    }

    private void SendTo(ReadOnlySpan<byte> answer, SocketAddress client)
    {
        try
        {
            _socket.SendTo(answer, SocketFlags.None, client);
        }
        catch (SocketException e)
        {
            // The client may be gone or unreachable; the next packet is another client's.
            LogError(e);
        }
    }

    private void LogError(Exception e)
    {
        if (_errors.TryEnter(out var suppressed))
        {
            Log.PacketFailed(_logger, suppressed, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.UdpPacketFailed, Level = LogLevel.Warning, Message = "A UDP packet could not be handled ({Suppressed} more since the last report)")]
        public static partial void PacketFailed(ILogger logger, long suppressed, Exception exception);
    }
}
