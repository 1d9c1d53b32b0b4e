using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Router.Dns.Wire;

namespace Router.Dns.Forwarding;

/// <summary>One query over a fresh TCP connection (RFC 7766), for answers too big for UDP.</summary>
internal static class TcpUpstream
{
    public static async Task<byte[]?> ExchangeAsync(ReadOnlyMemory<byte> query, int questionEnd, IPEndPoint upstream, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        using var socket = new Socket(upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(upstream, timer.Token).ConfigureAwait(false);

            // RFC 1035 §4.2.2: each message is preceded by its length as two bytes.
            var framed = new byte[query.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
            query.Span.CopyTo(framed.AsSpan(2));
            var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
            DnsHeader.WriteId(framed.AsSpan(2), id);
            await socket.SendAsync(framed, SocketFlags.None, timer.Token).ConfigureAwait(false);

            var length = new byte[2];
            await ReceiveExactlyAsync(socket, length, timer.Token).ConfigureAwait(false);
            var answer = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
            await ReceiveExactlyAsync(socket, answer, timer.Token).ConfigureAwait(false);

            var question = query[DnsHeader.Size..questionEnd].Span;
            return answer.Length >= DnsHeader.Size + question.Length
                && DnsHeader.ReadId(answer) == id
                && Ascii.EqualsIgnoreCase(answer.AsSpan(DnsHeader.Size, question.Length), question)
                ? answer
                : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e) when (e is SocketException or EndOfStreamException)
        {
            return null;
        }
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (received == 0)
            {
                throw new EndOfStreamException();
            }

            buffer = buffer[received..];
        }
    }
}
