using System.Buffers.Binary;

namespace Router.Dns.Wire;

/// <summary>One question entry (RFC 1035 §4.1.2), as offsets into the message it was read from.</summary>
internal readonly record struct DnsQuestion(int NameOffset, int NameLength, ushort Type, ushort Class)
{
    /// <summary>Where the question ends (after QTYPE and QCLASS).</summary>
    public int End => NameOffset + NameLength + 4;

    /// <summary>Reads a question whose name is not compressed (nothing precedes it that it could point to).</summary>
    public static bool TryRead(ReadOnlySpan<byte> message, int offset, out DnsQuestion question)
    {
        question = default;
        if (!DnsName.TryReadUncompressed(message, offset, out var nameLength))
        {
            return false;
        }

        var fixedPart = offset + nameLength;
        if (fixedPart + 4 > message.Length)
        {
            return false;
        }

        question = new DnsQuestion(
            offset,
            nameLength,
            BinaryPrimitives.ReadUInt16BigEndian(message[fixedPart..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[(fixedPart + 2)..]));
        return true;
    }

    public ReadOnlySpan<byte> Name(ReadOnlySpan<byte> message) => message.Slice(NameOffset, NameLength);
}
