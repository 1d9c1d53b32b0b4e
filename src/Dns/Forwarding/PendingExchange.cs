using System.Net;
using System.Text;
using Router.Dns.Wire;

namespace Router.Dns.Forwarding;

/// <summary>One query waiting for its upstream answer on a shared socket.</summary>
internal sealed class PendingExchange(SocketAddress upstream, ReadOnlyMemory<byte> question)
    : TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public SocketAddress Upstream { get; } = upstream;

    /// <summary>
    /// RFC 5452 §9.1: an answer is accepted only from the server asked, with the id given and the same
    /// question (compared without regard to case, since some servers normalise it).
    /// </summary>
    public bool Matches(SocketAddress from, ReadOnlySpan<byte> answer)
    {
        var expected = question.Span;
        return from.Equals(Upstream)
            && DnsHeader.TryRead(answer, out var header)
            && header.IsResponse
            && header.QuestionCount == 1
            && answer.Length >= DnsHeader.Size + expected.Length
            && Ascii.EqualsIgnoreCase(answer.Slice(DnsHeader.Size, expected.Length), expected);
    }
}
