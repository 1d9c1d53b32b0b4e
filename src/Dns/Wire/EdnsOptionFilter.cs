using System.Buffers.Binary;

namespace Router.Dns.Wire;

/// <summary>
/// Takes the options out of a message's OPT record that belong to one client or one transport, so an answer
/// relayed or cached for one client never carries them to another. The rest of the message is kept byte for
/// byte; options about the answer or the server (NSID, extended errors, …) stay.
/// </summary>
internal static class EdnsOptionFilter
{
    /// <summary>RFC 7871: the client's subnet, echoed with the scope the answer is good for.</summary>
    public const ushort ClientSubnet = 8;

    /// <summary>RFC 7873: the client cookie and the cookie the server made for that client's address.</summary>
    public const ushort Cookie = 10;

    /// <summary>RFC 7828: an idle timeout for one TCP connection.</summary>
    public const ushort TcpKeepalive = 11;

    /// <summary>RFC 7830: padding sized for one message.</summary>
    public const ushort Padding = 12;

    /// <summary>
    /// A copy of the message without COOKIE, TCP keepalive and padding options, and without client subnet
    /// too when <paramref name="withoutClientSubnet"/>; null when there is nothing to take out or the
    /// message cannot be read (a broken OPT is passed on as it came).
    /// </summary>
    public static byte[]? Strip(ReadOnlySpan<byte> message, bool withoutClientSubnet)
    {
        if (!TryFindOpt(message, out var opt) || !TryMeasure(message, opt, withoutClientSubnet, out var kept) || kept == opt.DataLength)
        {
            return null;
        }

        var result = new byte[message.Length - opt.DataLength + kept];
        message[..opt.DataOffset].CopyTo(result);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(opt.DataOffset - 2), (ushort)kept);
        var to = opt.DataOffset;
        for (var at = opt.DataOffset; at < opt.End;)
        {
            var code = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            var size = 4 + BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]);
            if (!Drops(code, withoutClientSubnet))
            {
                message.Slice(at, size).CopyTo(result.AsSpan(to));
                to += size;
            }

            at += size;
        }

        message[opt.End..].CopyTo(result.AsSpan(to));
        return result;
    }

    private static bool Drops(ushort code, bool withoutClientSubnet) =>
        code is Cookie or TcpKeepalive or Padding || (withoutClientSubnet && code == ClientSubnet);

    /// <summary>The OPT record (RFC 6891 §6.1.1: in the additional section, at most one that counts).</summary>
    private static bool TryFindOpt(ReadOnlySpan<byte> message, out DnsRecord opt)
    {
        opt = default;
        if (!DnsHeader.TryRead(message, out var header) || header.QuestionCount > 1)
        {
            return false;
        }

        var position = DnsHeader.Size;
        if (header.QuestionCount == 1)
        {
            if (!DnsName.TrySkip(message, position, out var nameEnd) || nameEnd + 4 > message.Length)
            {
                return false;
            }

            position = nameEnd + 4;
        }

        var firstAdditional = header.AnswerCount + header.AuthorityCount;
        for (var i = 0; i < header.RecordCount; i++)
        {
            if (!DnsRecord.TryRead(message, position, out var record))
            {
                return false;
            }

            if (record.Type == DnsRecordType.Opt && i >= firstAdditional)
            {
                opt = record;
                return true;
            }

            position = record.End;
        }

        return false;
    }

    /// <summary>RFC 6891 §6.1.2: the RDATA is a sequence of {code, length, data}; false when they overrun it.</summary>
    private static bool TryMeasure(ReadOnlySpan<byte> message, DnsRecord opt, bool withoutClientSubnet, out int kept)
    {
        kept = 0;
        for (var at = opt.DataOffset; at < opt.End;)
        {
            if (at + 4 > opt.End)
            {
                return false;
            }

            var code = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            var size = 4 + BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]);
            if (at + size > opt.End)
            {
                return false;
            }

            kept += Drops(code, withoutClientSubnet) ? 0 : size;
            at += size;
        }

        return true;
    }
}
