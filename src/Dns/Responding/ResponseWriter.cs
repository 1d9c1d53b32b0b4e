using Router.Dns.Wire;

namespace Router.Dns.Responding;

/// <summary>The parts every answer of ours shares: header flags, OPT, errors and truncation.</summary>
internal static class ResponseWriter
{
    /// <summary>
    /// QR set; opcode, RD and CD copied from the query (RFC 1035 §4.1.1, RFC 6840 §5.9); RA set because
    /// we do resolve by relaying.
    /// </summary>
    public static ushort Flags(ushort queryFlags, int responseCode, bool authoritative) =>
        (ushort)(DnsFlags.Response
            | (queryFlags & (DnsFlags.OpcodeMask | DnsFlags.RecursionDesired | DnsFlags.CheckingDisabled))
            | DnsFlags.RecursionAvailable
            | (authoritative ? DnsFlags.Authoritative : 0)
            | (responseCode & DnsFlags.ResponseCodeMask));

    /// <summary>RFC 6891 §7: a query with OPT gets an OPT back; RFC 3225 §3: with its DO bit copied.</summary>
    public static bool TryWriteOpt(ref DnsMessageWriter writer, in DnsQuery query, int responseCode)
    {
        if (query.Edns is not { } edns)
        {
            return false;
        }

        Span<byte> opt = stackalloc byte[EdnsOpt.EmptySize];

        // RFC 6891 §6.1.3: the OPT carries the upper eight bits of the 12-bit RCODE.
        new EdnsOpt(EdnsOpt.OurPayloadSize, (byte)(responseCode >> 4), 0, (ushort)(edns.Flags & EdnsOpt.DnssecOkFlag)).TryWrite(opt, out _);
        return writer.TryWriteBytes(opt);
    }

    /// <summary>An answer with no records: the header, the question when it could be read, and OPT.</summary>
    public static int WriteError(ReadOnlySpan<byte> query, in DnsQuery parsed, bool echoQuestion, int responseCode, Span<byte> response)
    {
        var questionEnd = echoQuestion ? parsed.Question.End : DnsHeader.Size;
        query[DnsHeader.Size..questionEnd].CopyTo(response[DnsHeader.Size..]);
        var writer = new DnsMessageWriter(response, questionEnd);
        var additional = echoQuestion && TryWriteOpt(ref writer, parsed, responseCode) ? 1 : 0;
        new DnsHeader(
            parsed.Header.Id,
            Flags(parsed.Header.Flags, responseCode, authoritative: false),
            (ushort)(echoQuestion ? 1 : 0),
            0,
            0,
            (ushort)additional).TryWrite(response);
        return writer.Position;
    }

    /// <summary>
    /// RFC 1035 §4.2.1, RFC 2181 §9: an answer too big for the client's UDP limit goes out as the header
    /// and question with TC set, so the client asks again over TCP.
    /// </summary>
    public static int WriteTruncated(ReadOnlySpan<byte> query, in DnsQuery parsed, ushort answerFlags, Span<byte> response)
    {
        query[DnsHeader.Size..parsed.Question.End].CopyTo(response[DnsHeader.Size..]);
        var writer = new DnsMessageWriter(response, parsed.Question.End);
        var additional = TryWriteOpt(ref writer, parsed, answerFlags & DnsFlags.ResponseCodeMask) ? 1 : 0;
        new DnsHeader(parsed.Header.Id, (ushort)(answerFlags | DnsFlags.Truncated), 1, 0, 0, (ushort)additional).TryWrite(response);
        return writer.Position;
    }
}
