using Router.Dns.Wire;

namespace Router.Dns.Cache;

/// <summary>Decides whether an upstream answer may be cached, and for how long.</summary>
internal static class CachePolicy
{
    /// <summary>An upper bound so a mistaken huge TTL upstream does not pin an answer for weeks.</summary>
    public const uint MaxPositiveTtl = 86_400;

    /// <summary>RFC 2308 §5: one to three hours have been found to work well for negative answers.</summary>
    public const uint MaxNegativeTtl = 10_800;

    public static bool TryGetLifetime(ReadOnlySpan<byte> message, out uint ttl, out int[] ttlOffsets)
    {
        ttl = 0;
        ttlOffsets = [];
        if (!DnsHeader.TryRead(message, out var header)
            || header.IsTruncated
            || header.QuestionCount != 1
            || header.ResponseCode is not (DnsResponseCode.NoError or DnsResponseCode.NxDomain)
            || !DnsName.TrySkip(message, DnsHeader.Size, out var nameEnd))
        {
            return false;
        }

        var position = nameEnd + 4;
        var offsets = new List<int>(header.RecordCount);
        var answerTtl = uint.MaxValue;
        uint? negativeTtl = null;
        for (var i = 0; i < header.RecordCount; i++)
        {
            if (!DnsRecord.TryRead(message, position, out var record))
            {
                return false;
            }

            position = record.End;
            if (record.Type == DnsRecordType.Opt)
            {
                // Its "TTL" holds EDNS flags, not a lifetime.
                continue;
            }

            offsets.Add(record.TtlOffset);

            // RFC 2181 §8: a TTL with the top bit set is read as zero.
            var recordTtl = record.Ttl > int.MaxValue ? 0 : record.Ttl;
            if (i < header.AnswerCount)
            {
                answerTtl = Math.Min(answerTtl, recordTtl);
            }
            else if (i < header.AnswerCount + header.AuthorityCount
                && record.Type == DnsRecordType.Soa
                && record.TryReadSoaMinimum(message, out var minimum))
            {
                // RFC 2308 §5: a negative answer lives for the lesser of the SOA's TTL and its MINIMUM.
                negativeTtl = Math.Min(recordTtl, minimum);
            }
        }

        if (header.ResponseCode == DnsResponseCode.NxDomain || header.AnswerCount == 0)
        {
            // RFC 2308 §5: negative answers without an SOA are not cached.
            if (negativeTtl is not { } negative)
            {
                return false;
            }

            ttl = Math.Min(Math.Min(negative, answerTtl), MaxNegativeTtl);
        }
        else
        {
            ttl = Math.Min(answerTtl, MaxPositiveTtl);
        }

        ttlOffsets = [.. offsets];
        return ttl > 0;
    }
}
