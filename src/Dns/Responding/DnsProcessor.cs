using System.Buffers.Binary;
using Router.Dns.Cache;
using Router.Dns.Forwarding;
using Router.Dns.Reporting;
using Router.Dns.Wire;

namespace Router.Dns.Responding;

/// <summary>
/// Decides the answer to one query, shared by the UDP and TCP listeners. Everything but an upstream miss is
/// answered synchronously into the caller's buffer, so the UDP loop can answer local names and cache hits
/// without leaving its thread.
/// </summary>
internal sealed class DnsProcessor(LocalZone zone, DnsCache cache, UpstreamForwarder forwarder, DnsStatistics statistics)
{
    public DnsCache Cache => cache;

    public DnsStatistics Statistics => statistics;

    public ProcessResult Process(ReadOnlySpan<byte> query, bool clientAllowed, bool overTcp, Span<byte> response, out int length, out DnsQuery parsed)
    {
        length = 0;
        var result = DnsQuery.TryRead(query, out parsed);

        // A packet that is already a response is never answered: two servers could bounce it forever.
        if (result == DnsParseResult.NoHeader || parsed.Header.IsResponse)
        {
            return ProcessResult.Drop;
        }

        var type = parsed.Question.Type;
        if (!clientAllowed)
        {
            length = ResponseWriter.WriteError(query, parsed, result == DnsParseResult.Ok, DnsResponseCode.Refused, response);
            statistics.Answered(type, AnswerSource.Responder, DnsResponseCode.Refused);
            return ProcessResult.Respond;
        }

        if (result == DnsParseResult.Malformed)
        {
            // RFC 1035 §4.1.1: FORMERR, with only the header we could read.
            length = ResponseWriter.WriteError(query, parsed, echoQuestion: false, DnsResponseCode.FormErr, response);
            statistics.Answered(type, AnswerSource.Responder, DnsResponseCode.FormErr);
            return ProcessResult.Respond;
        }

        if (parsed.Header.Opcode != 0)
        {
            length = ResponseWriter.WriteError(query, parsed, echoQuestion: true, DnsResponseCode.NotImp, response);
            statistics.Answered(type, AnswerSource.Responder, DnsResponseCode.NotImp);
            return ProcessResult.Respond;
        }

        if (parsed.Edns is { Version: > 0 })
        {
            // RFC 6891 §6.1.3: only version 0 is known.
            length = ResponseWriter.WriteError(query, parsed, echoQuestion: true, DnsResponseCode.BadVers, response);
            statistics.Answered(type, AnswerSource.Responder, DnsResponseCode.BadVers);
            return ProcessResult.Respond;
        }

        var maxSize = MaxSize(parsed, overTcp);
        if (zone.Contains(parsed.Question.Name(query), out var prefixLength))
        {
            length = zone.Answer(query, parsed, prefixLength, response);
            if (length > maxSize)
            {
                length = ResponseWriter.WriteTruncated(query, parsed, BinaryPrimitives.ReadUInt16BigEndian(response[2..]), response);
            }

            statistics.Answered(type, AnswerSource.Local, response[..length]);
            return ProcessResult.Respond;
        }

        Span<byte> key = stackalloc byte[DnsCache.MaxKeyLength];
        var keyLength = DnsCache.WriteKey(query, parsed, key);
        if (cache.TryGet(key[..keyLength], out var entry, out var age))
        {
            length = RelayedAnswer.Write(entry.Message, entry.TtlOffsets, age, query, parsed, maxSize, response);
            statistics.CacheHit();
            statistics.Answered(type, AnswerSource.Cache, response[..length]);
            return ProcessResult.Respond;
        }

        statistics.CacheMiss();
        return ProcessResult.Forward;
    }

    /// <summary>Asks upstream, caches what may be cached, and writes the client's answer (SERVFAIL when none came).</summary>
    public async ValueTask<int> ForwardAsync(ReadOnlyMemory<byte> query, DnsQuery parsed, bool overTcp, Memory<byte> response, CancellationToken cancellationToken)
    {
        var key = DnsCache.CreateKey(query.Span, parsed);

        // RFC 7873 §5.1: toward the upstream we are the client, so the client's cookie is not passed on;
        // its subnet (RFC 7871) is, as the client asked.
        var outgoing = EdnsOptionFilter.Strip(query.Span, withoutClientSubnet: false) is { } stripped ? stripped : query;
        var upstream = await forwarder.QueryAsync(outgoing, parsed.Question.End, cancellationToken).ConfigureAwait(false);
        if (upstream is null)
        {
            statistics.Answered(parsed.Question.Type, AnswerSource.Responder, DnsResponseCode.ServFail);
            return ResponseWriter.WriteError(query.Span, parsed, echoQuestion: true, DnsResponseCode.ServFail, response.Span);
        }

        // The cache serves every client, so it keeps nothing that was meant for one: no cookie, no subnet,
        // no padding or keepalive. The asking client gets its own subnet echo back; no cookie, as a server
        // that does not do cookies answers (RFC 7873 §5.2), since the upstream's was made for our address.
        cache.Store(key, EdnsOptionFilter.Strip(upstream, withoutClientSubnet: true) ?? upstream);
        var answer = EdnsOptionFilter.Strip(upstream, withoutClientSubnet: false) ?? upstream;
        var length = RelayedAnswer.Write(answer, [], 0, query.Span, parsed, MaxSize(parsed, overTcp), response.Span);
        statistics.Answered(parsed.Question.Type, AnswerSource.Upstream, response.Span[..length]);
        return length;
    }

    /// <summary>The client's UDP limit; TCP carries up to 65535 bytes (RFC 1035 §4.2.2).</summary>
    private static int MaxSize(in DnsQuery parsed, bool overTcp) => overTcp ? ushort.MaxValue : parsed.MaxUdpSize;
}
