using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Router.Dns.Wire;

namespace Router.Dns.Forwarding;

/// <summary>
/// One query over a UDP socket of its own. RFC 5452 §9.2: a spoofer has to guess the source port as well as
/// the id, so every query leaves from a fresh socket on a port the kernel draws at random from the
/// ephemeral range (Linux picks it randomly for a bind to port 0), the way dnsmasq does.
/// </summary>
internal static partial class UdpUpstream
{
    private const int MaxMessage = ushort.MaxValue;

    /// <summary>Sends the query with a random id of our own and waits for its answer; null on timeout or error.</summary>
    public static async Task<(byte[]? Answer, bool TimedOut)> ExchangeAsync(ReadOnlyMemory<byte> query, int questionEnd, IPEndPoint upstream, SocketAddress upstreamAddress, TimeSpan timeout, ILogger logger, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        var buffer = ArrayPool<byte>.Shared.Rent(MaxMessage);
        Socket? socket = null;
        try
        {
            socket = new Socket(upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(upstream.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));

            // RFC 5452 §4.3: ids are unpredictable, drawn from a cryptographic generator.
            var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
            query.Span.CopyTo(buffer);
            DnsHeader.WriteId(buffer, id);
            await socket.SendToAsync(buffer.AsMemory(0, query.Length), SocketFlags.None, upstreamAddress, timer.Token).ConfigureAwait(false);

            var question = query[DnsHeader.Size..questionEnd];
            var from = new SocketAddress(upstream.AddressFamily);
            while (true)
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from, timer.Token).ConfigureAwait(false);
                var answer = buffer.AsSpan(0, received);
                if (Matches(from, upstreamAddress, id, question.Span, answer))
                {
                    return (answer.ToArray(), false);
                }

                // Anything else is noise or a spoofing attempt: keep waiting for the real answer.
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, true);
        }
        catch (SocketException e)
        {
            // Out of ports or descriptors, or an ICMP error for this query: it fails over like a timeout.
            Log.ExchangeFailed(logger, upstream, e.SocketErrorCode);
            return (null, false);
        }
        finally
        {
            socket?.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// RFC 5452 §9.1: an answer is accepted only from the server asked, with the id given and the same
    /// question (compared without regard to case, since some servers normalise it).
    /// </summary>
    internal static bool Matches(SocketAddress from, SocketAddress upstream, ushort id, ReadOnlySpan<byte> question, ReadOnlySpan<byte> answer) =>
        from.Equals(upstream)
        && DnsHeader.TryRead(answer, out var header)
        && header.Id == id
        && header.IsResponse
        && header.QuestionCount == 1
        && answer.Length >= DnsHeader.Size + question.Length
        && Ascii.EqualsIgnoreCase(answer.Slice(DnsHeader.Size, question.Length), question);

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.UdpUpstreamExchangeFailed, Level = LogLevel.Debug, Message = "Asking DNS upstream {Upstream} over UDP failed: {Error}")]
        public static partial void ExchangeFailed(ILogger logger, IPEndPoint upstream, SocketError error);
    }
}
