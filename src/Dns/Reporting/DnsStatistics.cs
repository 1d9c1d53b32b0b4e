using Router.Dns.Wire;

namespace Router.Dns.Reporting;

/// <summary>
/// Counters of the answers given, by question type, where the answer came from and its RCODE, plus cache hits
/// and misses. Every label has a fixed set of values, so the series stay bounded whatever clients ask.
/// </summary>
internal sealed class DnsStatistics
{
    public static readonly string[] Types = ["A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "HTTPS", "other"];

    public static readonly string[] Sources = ["local", "cache", "upstream", "responder"];

    public static readonly string[] ResponseCodes = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other"];

    private readonly long[] _answers = new long[Types.Length * Sources.Length * ResponseCodes.Length];
    private long _cacheHits;
    private long _cacheMisses;

    public long CacheHits => Interlocked.Read(ref _cacheHits);

    public long CacheMisses => Interlocked.Read(ref _cacheMisses);

    public void CacheHit() => Interlocked.Increment(ref _cacheHits);

    public void CacheMiss() => Interlocked.Increment(ref _cacheMisses);

    /// <summary>Counts one answer; its RCODE is read from the answer's header.</summary>
    public void Answered(ushort questionType, AnswerSource source, ReadOnlySpan<byte> answer) =>
        Answered(questionType, source, answer.Length >= DnsHeader.Size ? answer[3] & 0xF : -1);

    public void Answered(ushort questionType, AnswerSource source, int responseCode)
    {
        var index = (((TypeIndex(questionType) * Sources.Length) + (int)source) * ResponseCodes.Length) + CodeIndex(responseCode);
        Interlocked.Increment(ref _answers[index]);
    }

    /// <summary>Every non-zero counter.</summary>
    public IReadOnlyList<DnsAnswerCount> Answers()
    {
        var counts = new List<DnsAnswerCount>();
        for (var i = 0; i < _answers.Length; i++)
        {
            var count = Interlocked.Read(ref _answers[i]);
            if (count > 0)
            {
                var code = i % ResponseCodes.Length;
                var source = i / ResponseCodes.Length % Sources.Length;
                var type = i / ResponseCodes.Length / Sources.Length;
                counts.Add(new DnsAnswerCount(Types[type], Sources[source], ResponseCodes[code], count));
            }
        }

        return counts;
    }

    private static int TypeIndex(ushort type) => type switch
    {
        1 => 0,
        2 => 1,
        5 => 2,
        6 => 3,
        12 => 4,
        15 => 5,
        16 => 6,
        28 => 7,
        33 => 8,
        65 => 9,
        _ => 10,
    };

    private static int CodeIndex(int code) => code switch
    {
        >= 0 and <= 5 => code,
        DnsResponseCode.BadVers => 6,
        _ => 7,
    };
}
