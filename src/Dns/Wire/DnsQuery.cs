namespace Router.Dns.Wire;

/// <summary>What a responder needs from a query: its header, its single question and its EDNS record, if any.</summary>
internal readonly record struct DnsQuery(DnsHeader Header, DnsQuestion Question, EdnsOpt? Edns)
{
    /// <summary>The largest UDP answer this client takes: 512 (RFC 1035 §4.2.1) or its EDNS size.</summary>
    public int MaxUdpSize => Edns is { } edns ? edns.EffectivePayloadSize : 512;

    public static DnsParseResult TryRead(ReadOnlySpan<byte> message, out DnsQuery query)
    {
        query = default;
        if (!DnsHeader.TryRead(message, out var header))
        {
            return DnsParseResult.NoHeader;
        }

        query = new DnsQuery(header, default, null);

        // RFC 9619: a QUERY carries exactly one question.
        if (header.QuestionCount != 1 || !DnsQuestion.TryRead(message, DnsHeader.Size, out var question))
        {
            return DnsParseResult.Malformed;
        }

        var position = question.End;
        EdnsOpt? edns = null;
        var records = header.RecordCount;
        var firstAdditional = header.AnswerCount + header.AuthorityCount;
        for (var i = 0; i < records; i++)
        {
            if (!DnsRecord.TryRead(message, position, out var record))
            {
                return DnsParseResult.Malformed;
            }

            if (record.Type == DnsRecordType.Opt)
            {
                // RFC 6891 §6.1.1: one OPT at most, in the additional section, owned by the root.
                if (i < firstAdditional || edns is not null || message[record.Offset] != 0)
                {
                    return DnsParseResult.Malformed;
                }

                edns = EdnsOpt.FromRecord(record);
            }

            position = record.End;
        }

        query = new DnsQuery(header, question, edns);
        return DnsParseResult.Ok;
    }
}
