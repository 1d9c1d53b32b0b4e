using System.Globalization;
using System.Text;
using Router.Dns;
using static Router.Admin.PrometheusFormat;

namespace Router.Admin;

/// <summary>The DNS responder's part of <c>GET /metrics</c>, from its <see cref="DnsReport"/>.</summary>
internal static class DnsMetricsText
{
    public static string Render(DnsReport report)
    {
        var text = new StringBuilder(2048);
        Header(text, "router_dns_bound", "gauge", "1 while the DNS responder listens on its address (UDP and TCP).");
        text.Append(CultureInfo.InvariantCulture, $"router_dns_bound {(report.Bound ? 1 : 0)}\n");

        Header(text, "router_dns_answers_total", "counter", "DNS answers given, by question type, source (local, cache, upstream, responder) and RCODE.");
        foreach (var answer in report.Answers)
        {
            text.Append(CultureInfo.InvariantCulture, $"router_dns_answers_total{{type=\"{answer.Type}\",source=\"{answer.Source}\",rcode=\"{answer.ResponseCode}\"}} {answer.Count}\n");
        }

        Header(text, "router_dns_cache_hits_total", "counter", "Relayed names answered from the cache.");
        text.Append(CultureInfo.InvariantCulture, $"router_dns_cache_hits_total {report.CacheHits}\n");
        Header(text, "router_dns_cache_misses_total", "counter", "Relayed names not in the cache, asked upstream.");
        text.Append(CultureInfo.InvariantCulture, $"router_dns_cache_misses_total {report.CacheMisses}\n");
        Header(text, "router_dns_cache_entries", "gauge", "Upstream answers in the cache.");
        text.Append(CultureInfo.InvariantCulture, $"router_dns_cache_entries {report.CacheEntries}\n");

        Header(text, "router_dns_upstream_up", "gauge", "1 when the upstream's last exchange gave an answer, 0 when it failed; absent before it was asked.");
        foreach (var upstream in report.Upstreams.Where(u => u.Health != "unknown"))
        {
            text.Append(CultureInfo.InvariantCulture, $"router_dns_upstream_up{{upstream=\"{upstream.Address}\"}} {(upstream.Health == "up" ? 1 : 0)}\n");
        }

        Header(text, "router_dns_upstream_failures_total", "counter", "Upstream exchanges without an answer (timeout, socket error) or answered REFUSED.");
        foreach (var upstream in report.Upstreams)
        {
            text.Append(CultureInfo.InvariantCulture, $"router_dns_upstream_failures_total{{upstream=\"{upstream.Address}\",reason=\"timeout\"}} {upstream.Timeouts}\n");
            text.Append(CultureInfo.InvariantCulture, $"router_dns_upstream_failures_total{{upstream=\"{upstream.Address}\",reason=\"error\"}} {upstream.Errors}\n");
            text.Append(CultureInfo.InvariantCulture, $"router_dns_upstream_failures_total{{upstream=\"{upstream.Address}\",reason=\"refused\"}} {upstream.Refused}\n");
        }

        Header(text, "router_dns_upstream_duration_seconds", "histogram", "Time an upstream took to answer (TCP retries of truncated answers included).");
        foreach (var upstream in report.Upstreams)
        {
            for (var i = 0; i < DnsReport.LatencyBounds.Count; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"router_dns_upstream_duration_seconds_bucket{{upstream=\"{upstream.Address}\",le=\"{DnsReport.LatencyBounds[i]}\"}} {upstream.LatencyBuckets[i]}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"router_dns_upstream_duration_seconds_bucket{{upstream=\"{upstream.Address}\",le=\"+Inf\"}} {upstream.LatencyBuckets[^1]}\n");
            text.Append(CultureInfo.InvariantCulture, $"router_dns_upstream_duration_seconds_sum{{upstream=\"{upstream.Address}\"}} {upstream.LatencySumSeconds}\n");
            text.Append(CultureInfo.InvariantCulture, $"router_dns_upstream_duration_seconds_count{{upstream=\"{upstream.Address}\"}} {upstream.Answers}\n");
        }

        return text.ToString();
    }
}
