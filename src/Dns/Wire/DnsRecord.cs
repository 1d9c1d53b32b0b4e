using System.Buffers.Binary;

namespace Router.Dns.Wire;

/// <summary>One resource record (RFC 1035 §4.1.3), as offsets into the message it was read from.</summary>
internal readonly record struct DnsRecord(int Offset, ushort Type, ushort Class, uint Ttl, int DataOffset, int DataLength)
{
    /// <summary>Where the 32-bit TTL sits, so a cache can rewrite it in place.</summary>
    public int TtlOffset => DataOffset - 6;

    public int End => DataOffset + DataLength;

    public static bool TryRead(ReadOnlySpan<byte> message, int offset, out DnsRecord record)
    {
        record = default;
        if (!DnsName.TrySkip(message, offset, out var nameEnd) || nameEnd + 10 > message.Length)
        {
            return false;
        }

        var fixedPart = message[nameEnd..];
        var dataLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[8..]);
        var dataOffset = nameEnd + 10;
        if (dataOffset + dataLength > message.Length)
        {
            return false;
        }

        record = new DnsRecord(
            offset,
            BinaryPrimitives.ReadUInt16BigEndian(fixedPart),
            BinaryPrimitives.ReadUInt16BigEndian(fixedPart[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]),
            dataOffset,
            dataLength);
        return true;
    }

    /// <summary>RFC 1035 §3.3.13: the SOA MINIMUM is the last 32 bits of the RDATA, after two names.</summary>
    public bool TryReadSoaMinimum(ReadOnlySpan<byte> message, out uint minimum)
    {
        minimum = 0;
        if (Type != DnsRecordType.Soa
            || !DnsName.TrySkip(message, DataOffset, out var mnameEnd)
            || !DnsName.TrySkip(message, mnameEnd, out var rnameEnd)
            || rnameEnd + 20 != End)
        {
            return false;
        }

        minimum = BinaryPrimitives.ReadUInt32BigEndian(message[(rnameEnd + 16)..]);
        return true;
    }
}
