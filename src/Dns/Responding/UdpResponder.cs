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
    private readonly bool _batched;
    private int _inFlight;

    /// <param name="batched">null: batches where the system has recvmmsg (Linux); false: one datagram at a time (tests).</param>
    public UdpResponder(Socket socket, DnsProcessor processor, ClientFilter filter, ILogger logger, bool? batched = null)
    {
        _batched = batched ?? UdpBatch.Supported;
        _socket = socket;
        _processor = processor;
        _filter = filter;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "dns-udp" };
    }

    public void Start() => _thread.Start();

    /// <summary>Whether the receiving thread is still alive (after <see cref="Dispose"/>: it did not wake up).</summary>
    public bool Running => _thread.IsAlive;

    public void Dispose()
    {
        _stop.Cancel();

        // Shutting the socket down wakes the thread blocked in recvmmsg or ReceiveFrom (an unconnected UDP socket
        // answers ENOTCONN and wakes its readers all the same). Socket's close does it too while the descriptor is
        // in use, as the batch loop holds it; done here explicitly, since the loop's exit depends on it.
        // UdpResponderTests checks the thread ends.
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
        if (_batched)
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
                catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock && !_stop.IsCancellationRequested)
                {
                    // The descriptor is blocking unless an async call on the socket turned it non-blocking; then wait
                    // for a datagram here rather than spin.
                    _socket.Poll(TimeSpan.FromSeconds(1), SelectMode.SelectRead);
                    continue;
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

                if (count == 0 || _stop.IsCancellationRequested)
                {
                    // Shut down (Dispose): the wake-up comes as an empty "datagram" without a sender.
                    return;
                }

                for (var i = 0; i < count; i++)
                {
                    if (!batch.HasSender(i))
                    {
                        // No sender address, nobody to answer: not a datagram from a client.
                        continue;
                    }

                    try
                    {
                        batch.Sender(i, client);
                        if (Handle(batch.Query(i), batch.Answer(i), client) is > 0 and var length)
                        {
                            batch.Reply(i, length);
                        }
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

            if (_stop.IsCancellationRequested)
            {
                // Shut down (Dispose): the wake-up is an empty read without a sender, not a query.
                return;
            }

            try
            {
                if (Handle(query.AsSpan(0, received), response, client) is > 0 and var length)
                {
                    SendTo(response.AsSpan(0, length), client);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One bad packet must never stop the loop.
                LogError(e);
            }
        }
    }

    /// <summary>
    /// One query: returns the length of the answer written to <paramref name="answer"/> to send now, or 0 when there
    /// is none to send now (a packet not worth an answer, or a miss that answers from upstream later).
    /// </summary>
    private int Handle(ReadOnlySpan<byte> query, Span<byte> answer, SocketAddress client)
    {
        var result = _processor.Process(query, _filter.IsAllowed(client), overTcp: false, answer, out var length, out var parsed);
        switch (result)
        {
            case ProcessResult.Respond:
                return length;
            case ProcessResult.Forward when Interlocked.Increment(ref _inFlight) <= MaxInFlight:
                var copy = new SocketAddress(client.Family, client.Size);
                client.Buffer.Span[..client.Size].CopyTo(copy.Buffer.Span);
                _ = ForwardAsync(query.ToArray(), parsed, copy);
                return 0;
            case ProcessResult.Forward:
                Interlocked.Decrement(ref _inFlight);
                _processor.Statistics.Answered(parsed.Question.Type, AnswerSource.Responder, DnsResponseCode.ServFail);
                return ResponseWriter.WriteError(query, parsed, echoQuestion: true, DnsResponseCode.ServFail, answer);
            default:
                return 0;
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
