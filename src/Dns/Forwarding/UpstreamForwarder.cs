using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Router.Dns.Reporting;
using Router.Dns.Responding;
using Router.Dns.Wire;

namespace Router.Dns.Forwarding;

/// <summary>
/// Relays a query's bytes to the upstreams in turn (the last one that answered first) and returns the answer's
/// bytes as they came, asking again over TCP when the UDP answer was truncated.
/// </summary>
internal sealed partial class UpstreamForwarder
{
    private readonly IPEndPoint[] _upstreams;
    private readonly SocketAddress[] _addresses;
    private readonly UpstreamHealth[] _health;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly LogLimiter _silent = new(TimeSpan.FromSeconds(30));
    private int _preferred;

    public UpstreamForwarder(IReadOnlyList<IPEndPoint> upstreams, TimeSpan timeout, TimeProvider time, ILogger logger)
    {
        _upstreams = [.. upstreams];
        _addresses = [.. upstreams.Select(u => u.Serialize())];
        _health = [.. upstreams.Select(u => new UpstreamHealth(u, time))];
        _timeout = timeout;
        _logger = logger;
    }

    public IReadOnlyList<IPEndPoint> Upstreams => _upstreams;

    /// <summary>Each upstream's health and counters, the one tried first marked.</summary>
    public IReadOnlyList<DnsUpstreamReport> Report()
    {
        var preferred = Volatile.Read(ref _preferred);
        return [.. _health.Select((h, i) => h.Report(i == preferred))];
    }

    /// <summary>The first usable answer, or null when no upstream gave one (the caller answers SERVFAIL).</summary>
    public async Task<byte[]?> QueryAsync(ReadOnlyMemory<byte> query, int questionEnd, CancellationToken cancellationToken)
    {
        byte[]? fallback = null;
        var start = Volatile.Read(ref _preferred);
        for (var i = 0; i < _upstreams.Length; i++)
        {
            var index = (start + i) % _upstreams.Length;
            var answer = await ExchangeAsync(index, query, questionEnd, cancellationToken).ConfigureAwait(false);
            if (answer is null)
            {
                if (_silent.TryEnter(out var suppressed))
                {
                    Log.UpstreamSilent(_logger, _upstreams[index], _timeout.TotalMilliseconds, suppressed);
                }

                continue;
            }

            // A server that refuses us may be misconfigured for our address; another one may answer.
            if (DnsHeader.TryRead(answer, out var header) && header.ResponseCode == DnsResponseCode.Refused)
            {
                fallback ??= answer;
                continue;
            }

            Volatile.Write(ref _preferred, index);
            return answer;
        }

        return fallback;
    }

    private async Task<byte[]?> ExchangeAsync(int index, ReadOnlyMemory<byte> query, int questionEnd, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var (answer, timedOut) = await UdpUpstream.ExchangeAsync(query, questionEnd, _upstreams[index], _addresses[index], _timeout, _logger, cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            _health[index].Failed(timedOut);
            return null;
        }

        if (DnsHeader.TryRead(answer, out var header) && header.IsTruncated)
        {
            // RFC 7766 §5: a truncated UDP answer is asked again over TCP; the cache keeps the full one.
            answer = await TcpUpstream.ExchangeAsync(query, questionEnd, _upstreams[index], _timeout, cancellationToken).ConfigureAwait(false) ?? answer;
        }

        _health[index].Answered(Stopwatch.GetElapsedTime(started), header.ResponseCode == DnsResponseCode.Refused);
        return answer;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.UpstreamSilent, Level = LogLevel.Warning, Message = "DNS upstream {Upstream} gave no answer within {TimeoutMs} ms; trying the next ({Suppressed} more since the last report)")]
        public static partial void UpstreamSilent(ILogger logger, IPEndPoint upstream, double timeoutMs, long suppressed);
    }
}
