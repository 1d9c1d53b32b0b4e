using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Router.Dns.Reporting;
using Router.Dns.Wire;

namespace Router.Dns.Responding;

/// <summary>
/// The UDP side: one dedicated thread doing blocking receive and send, which measured faster than an async
/// loop here; on Linux it reads and answers whole batches of queries per system call (<see cref="UdpBatch"/>).
/// Local names and cache hits never leave the thread and allocate nothing; upstream misses go to the thread
/// pool and answer from there.
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

        // Shutting the socket down wakes a thread blocked in recvmmsg, which is not .NET's own call and so is not
        // woken by the close (an unbound UDP socket answers ENOTCONN, and wakes its readers all the same).
        // Closing it wakes a blocked ReceiveFrom.
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _socket.Dispose();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        _stop.Dispose();
    }

    private void Run()
    {
        if (UdpBatch.Supported)
        {
            RunBatched();
        }
        else
        {
            RunOneByOne();
        }
    }

    /// <summary>recvmmsg and sendmmsg (<see cref="UdpBatch"/>): every query that is queued is read and answered at once.</summary>
    private void RunBatched()
    {
        using var batch = new UdpBatch();
        var client = new SocketAddress(_socket.AddressFamily);
        SafeHandle? handle = null;
        var added = false;
        try
        {
            // Held while the thread uses the descriptor, so a close cannot hand its number to another socket meanwhile.
            // Disposed before the thread got here (a responder stopped at once): nothing to do.
            handle = _socket.SafeHandle;
            handle.DangerousAddRef(ref added);
            var fd = handle.DangerousGetHandle();
            while (!_stop.IsCancellationRequested)
            {
                int count;
                try
                {
                    count = batch.Receive(fd);
                }
                catch (SocketException e) when (!_stop.IsCancellationRequested && e.SocketErrorCode != SocketError.OperationAborted)
                {
                    // A refused earlier answer (ICMP port unreachable) and the like: the next datagram is another's.
                    LogError(e);
                    continue;
                }
                catch (SocketException)
                {
                    return;
                }

                if (count == 0)
                {
                    // Shut down (Dispose): an empty datagram would still count as one.
                    return;
                }

                for (var i = 0; i < count; i++)
                {
                    try
                    {
                        batch.Sender(i, client);
                        HandleInBatch(batch, i, client);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // One bad packet must never stop the loop, nor the answers to the others.
                        LogError(e);
                    }
                }

                batch.Send(fd, LogError);
            }
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
            {
                handle!.DangerousRelease();
            }
        }
    }

    private void HandleInBatch(UdpBatch batch, int index, SocketAddress client)
    {
        var query = batch.Query(index);
        var answer = batch.Answer(index);
        var result = _processor.Process(query, _filter.IsAllowed(client), overTcp: false, answer, out var length, out var parsed);
        switch (result)
        {
            case ProcessResult.Respond:
                batch.Reply(index, length);
                break;
            case ProcessResult.Forward when Interlocked.Increment(ref _inFlight) <= MaxInFlight:
                var copy = new SocketAddress(client.Family, client.Size);
                client.Buffer.Span[..client.Size].CopyTo(copy.Buffer.Span);
                _ = ForwardAsync(query.ToArray(), parsed, copy);
                break;
            case ProcessResult.Forward:
                Interlocked.Decrement(ref _inFlight);
                _processor.Statistics.Answered(parsed.Question.Type, AnswerSource.Responder, DnsResponseCode.ServFail);
                batch.Reply(index, ResponseWriter.WriteError(query, parsed, echoQuestion: true, DnsResponseCode.ServFail, answer));
                break;
            default:
                break;
        }
    }

    /// <summary>One receive and one send per query, where recvmmsg is not available.</summary>
    private void RunOneByOne()
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
