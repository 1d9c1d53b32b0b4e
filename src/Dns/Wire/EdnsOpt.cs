using System.Buffers.Binary;

namespace Router.Dns.Wire;

/// <summary>The EDNS(0) OPT pseudo-record (RFC 6891 §6.1.2, §6.1.3); its CLASS is the UDP size and its TTL carries flags.</summary>
internal readonly record struct EdnsOpt(ushort UdpPayloadSize, byte ExtendedResponseCode, byte Version, ushort Flags)
{
    /// <summary>Root owner, TYPE, CLASS, TTL and an empty RDATA.</summary>
    public const int EmptySize = 11;

    /// <summary>RFC 3225 §3: the DNSSEC OK bit.</summary>
    public const ushort DnssecOkFlag = 0x8000;

    /// <summary>What we advertise: the DNS flag day 2020 figure that avoids IP fragmentation.</summary>
    public const ushort OurPayloadSize = 1232;

    public bool DnssecOk => (Flags & DnssecOkFlag) != 0;

    /// <summary>RFC 6891 §6.2.5: sizes below 512 are treated as 512.</summary>
    public int EffectivePayloadSize => Math.Max((int)UdpPayloadSize, 512);

    public static EdnsOpt FromRecord(in DnsRecord record) =>
        new(record.Class, (byte)(record.Ttl >> 24), (byte)(record.Ttl >> 16), (ushort)record.Ttl);

    public bool TryWrite(Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < EmptySize)
        {
            return false;
        }

        destination[0] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], DnsRecordType.Opt);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], UdpPayloadSize);
        destination[5] = ExtendedResponseCode;
        destination[6] = Version;
        BinaryPrimitives.WriteUInt16BigEndian(destination[7..], Flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[9..], 0);
        written = EmptySize;
        return true;
    }
}
