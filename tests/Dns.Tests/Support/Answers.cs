using System.Buffers.Binary;

namespace Router.Dns.Tests.Support;

/// <summary>Builds upstream answers for cache tests: one question, then records of the given type and TTL.</summary>
internal static class Answers
{
    public static byte[] Build(int responseCode, (ushort Type, uint Ttl)[] answers, (uint Ttl, uint Minimum)? soa = null, bool truncated = false)
    {
        var query = RawDns.Query("x.example", 1);
        var message = new List<byte>(query);
        var flags = (ushort)(0x8180 | responseCode | (truncated ? 0x0200 : 0));
        message[2] = (byte)(flags >> 8);
        message[3] = (byte)flags;
        message[7] = (byte)answers.Length;
        message[9] = (byte)(soa is null ? 0 : 1);
        foreach (var (type, ttl) in answers)
        {
            message.AddRange([0xC0, 12]);
            message.AddRange(Be16(type));
            message.AddRange(Be16(1));
            message.AddRange(Be32(ttl));
            message.AddRange(Be16(4));
            message.AddRange([10, 0, 0, 1]);
        }

        if (soa is { } s)
        {
            message.AddRange([0xC0, 14]);
            message.AddRange(Be16(6));
            message.AddRange(Be16(1));
            message.AddRange(Be32(s.Ttl));
            message.AddRange(Be16(2 + 2 + 20));
            message.AddRange([0xC0, 14, 0xC0, 14]);
            message.AddRange(Be32(1));
            message.AddRange(Be32(3600));
            message.AddRange(Be32(600));
            message.AddRange(Be32(86400));
            message.AddRange(Be32(s.Minimum));
        }

        return [.. message];
    }

    private static byte[] Be16(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Be32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }
}
