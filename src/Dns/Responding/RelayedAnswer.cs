using System.Buffers.Binary;
using Router.Dns.Wire;

namespace Router.Dns.Responding;

/// <summary>Turns an upstream answer (fresh or cached) into the answer for one client.</summary>
internal static class RelayedAnswer
{
    public static int Write(ReadOnlySpan<byte> upstream, ReadOnlySpan<int> ttlOffsets, uint ageSeconds, ReadOnlySpan<byte> query, in DnsQuery parsed, int maxSize, Span<byte> response)
    {
        if (upstream.Length > maxSize || upstream.Length > response.Length)
        {
            return ResponseWriter.WriteTruncated(query, parsed, BinaryPrimitives.ReadUInt16BigEndian(upstream[2..]), response);
        }

        upstream.CopyTo(response);
        DnsHeader.WriteId(response, parsed.Header.Id);

        // The upstream echoed this question up to case; give each client its own spelling back, since
        // resolvers using 0x20 case randomisation check it.
        query[DnsHeader.Size..parsed.Question.End].CopyTo(response[DnsHeader.Size..]);

        if (ageSeconds > 0)
        {
            // RFC 1035 §7.4 / RFC 2181 §8: a cached record is handed out with the time it has left.
            foreach (var offset in ttlOffsets)
            {
                var ttl = BinaryPrimitives.ReadUInt32BigEndian(response[offset..]);
                BinaryPrimitives.WriteUInt32BigEndian(response[offset..], ttl > ageSeconds ? ttl - ageSeconds : 0);
            }
        }

        return upstream.Length;
    }
}
