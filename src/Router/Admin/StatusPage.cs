using System.Globalization;
using System.Net;
using System.Text;
using Router.Metrics;

namespace Router.Admin;

/// <summary>
/// <c>GET /</c> on the admin port: the status for people. Problems first, then every service with its hosts,
/// coloured as HAProxy's stats page (green up, orange set aside, red no usable host), each with a chart of its
/// request and 5xx rates over the last minutes; the change-to-live histogram; DNS. Inline CSS and SVG only:
/// no script, font or image from anywhere, so it works on an air-gapped node.
/// </summary>
internal static class StatusPage
{
    private const int ChartWidth = 180;
    private const int ChartHeight = 30;

    /// <param name="refresh">Seconds between reloads; 0: none (<c>/?refresh=0</c>, to read or copy from the page at leisure).</param>
    public static string Render(StatusReport report, string version, PageExtras? extras = null, int refresh = 5)
    {
        var html = new StringBuilder(8192);
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            """);
        if (refresh > 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<meta http-equiv=\"refresh\" content=\"{refresh}\">");
        }

        html.Append("""
            <title>router status</title>
            <style>
            body{font:13px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
            h1{font-size:18px;margin:0 0 .3em} h2{font-size:15px;margin:1.2em 0 .4em}
            table{border-collapse:collapse;margin-bottom:.8em} th,td{border:1px solid #bbb;padding:2px 8px;text-align:left}
            th{background:#ddd} .up{background:#c0ffc0} .aside{background:#ffd080} .down{background:#ff9090}
            .problem{background:#ffe0e0} .muted{color:#666} code{font-size:12px}
            svg.chart{vertical-align:middle;background:#f6f6f6;border:1px solid #ddd} .rate{font-size:12px;white-space:nowrap}
            .stale{background:#ffd080;padding:0 4px}
            </style></head><body>
            """);
        html.Append(CultureInfo.InvariantCulture, $"<h1>router</h1><p class=\"muted\">{E(version)} &middot; etcd {(report.Etcd.Connected ? "connected" : "<b>disconnected</b>")} ({E(report.Etcd.Current ?? "-")}) &middot; revision {report.Etcd.Revision}");
        if (report.Etcd.TableAgeSeconds is { } age)
        {
            // Freshness: the seconds since etcd last confirmed the table; a progress answer comes every few seconds.
            if (age > 30)
            {
                html.Append(CultureInfo.InvariantCulture, $" &middot; <span class=\"stale\">registry last confirmed {age:F1} s ago</span>");
            }
            else
            {
                html.Append(CultureInfo.InvariantCulture, $" &middot; registry confirmed {age:F1} s ago");
            }
        }

        html.Append(CultureInfo.InvariantCulture, $" &middot; {(report.Ready ? "ready" : "<b>not ready</b>")}{(report.Draining ? " &middot; <b>draining</b>" : "")}</p>");

        html.Append(CultureInfo.InvariantCulture, $"<h2>Problems ({report.Problems.Count})</h2>");
        if (report.Problems.Count > 0)
        {
            html.Append("<table><tr><th>service</th><th>key</th><th>problem</th></tr>");
            foreach (var problem in report.Problems)
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr class=\"problem\"><td>{E(problem.Service)}</td><td><code>{E(problem.Key)}</code></td><td>{E(problem.Message)}</td></tr>");
            }

            html.Append("</table>");
        }

        html.Append(CultureInfo.InvariantCulture, $"<h2>Services ({report.Services.Count})</h2>");
        html.Append("<table id=\"services\"><tr><th>service</th><th>scheme</th><th>host_port</th><th>private</th><th>requests/s, 5xx/s (last minutes)</th><th>host</th><th>address</th><th>health</th><th>failures</th></tr>");
        foreach (var service in report.Services)
        {
            var rows = Math.Max(1, service.Hosts.Count);
            var anyUp = service.Hosts.Any(h => h.Health == "up");
            var port = service.HostPort is { } p ? (service.HostPortOwned ? p.ToString(CultureInfo.InvariantCulture) : $"{p} (not owned)") : "";
            html.Append(CultureInfo.InvariantCulture, $"<tr data-service=\"{E(service.Name)}\"><td rowspan=\"{rows}\" class=\"{(anyUp ? "up" : "down")}\"><b>{E(service.Name)}</b></td><td rowspan=\"{rows}\">{E(service.Scheme)}</td><td rowspan=\"{rows}\">{E(port)}</td><td rowspan=\"{rows}\">{(service.Private ? "yes" : "")}</td>");
            html.Append(CultureInfo.InvariantCulture, $"<td rowspan=\"{rows}\">");
            var rates = extras?.Rates.GetValueOrDefault(service.Name);
            RateChart(html, service.Name, rates?.Requests ?? [], rates?.Errors ?? []);
            html.Append("</td>");
            if (service.Hosts.Count == 0)
            {
                html.Append("<td colspan=\"4\" class=\"down\">no hosts</td></tr>");
                continue;
            }

            for (var i = 0; i < service.Hosts.Count; i++)
            {
                var host = service.Hosts[i];
                if (i > 0)
                {
                    html.Append("<tr>");
                }

                var css = host.Health == "up" ? "up" : "aside";
                html.Append(CultureInfo.InvariantCulture, $"<td>{E(host.Id)}</td><td><code>{E(host.Address)}</code></td><td class=\"{css}\">{E(host.Health)}</td><td>{host.ConsecutiveFailures}</td></tr>");
            }
        }

        html.Append("</table>");
        if (report.Listeners.Count > 0)
        {
            html.Append("<h2>host_port listeners</h2><table><tr><th>port</th><th>service</th><th>kind</th><th>state</th><th>open</th></tr>");
            foreach (var listener in report.Listeners)
            {
                var css = listener.State switch { "listening" => "up", "draining" => "aside", _ => "down" };
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{listener.Port}</td><td>{E(listener.Service)}</td><td>{E(listener.Kind)}</td><td class=\"{css}\">{E(listener.State)}{(listener.Error is null ? "" : ": " + E(listener.Error))}</td><td>{listener.Connections}</td></tr>");
            }

            html.Append("</table>");
        }

        if (extras is not null)
        {
            ApplyHistogram(html, extras.ApplyTimes);
        }

        if (report.Dns is { } dns)
        {
            html.Append("<h2>DNS</h2>");
            html.Append(CultureInfo.InvariantCulture, $"<p>{E(dns.Listen)} <span class=\"{(dns.Bound ? "up" : "down")}\">{(dns.Bound ? "bound" : "not bound: " + E(dns.BindError ?? ""))}</span> &middot; zone <code>{E(dns.Zone)}</code> &middot; cache {dns.CacheEntries}/{dns.CacheCapacity} entries, {dns.CacheHits} hits, {dns.CacheMisses} misses</p>");
            html.Append("<table><tr><th>upstream</th><th>health</th><th>answers</th><th>timeouts</th><th>errors</th></tr>");
            foreach (var upstream in dns.Upstreams)
            {
                var css = upstream.Health switch { "up" => "up", "failing" => "down", _ => "" };
                html.Append(CultureInfo.InvariantCulture, $"<tr><td><code>{E(upstream.Address)}</code>{(upstream.Preferred ? " (preferred)" : "")}</td><td class=\"{css}\">{E(upstream.Health)}</td><td>{upstream.Answers}</td><td>{upstream.Timeouts}</td><td>{upstream.Errors}</td></tr>");
            }

            html.Append("</table>");
        }

        if (report.Certificates is { Count: > 0 } certificates)
        {
            // Expiring first, as /status lists them.
            html.Append("<h2>HTTPS certificates</h2><table><tr><th>valid until</th><th>names</th><th>file</th></tr>");
            foreach (var certificate in certificates)
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"{(certificate.Stale ? "aside" : "up")}\">{certificate.NotAfter:u}{(certificate.Stale ? " (file unreadable; loaded before)" : "")}</td><td>{E(string.Join(", ", certificate.Names))}</td><td><code>{E(certificate.File)}</code></td></tr>");
            }

            html.Append("</table>");
        }

        html.Append("<p class=\"muted\">JSON: <a href=\"/status\">/status</a> &middot; <a href=\"/metrics\">/metrics</a></p></body></html>\n");
        return html.ToString();
    }

    /// <summary>
    /// Requests per second (green) and 5xx per second (red) as two lines on one scale, newest at the right,
    /// with the latest values in words beside it.
    /// </summary>
    private static void RateChart(StringBuilder html, string service, double[] requests, double[] errors)
    {
        var max = Math.Max(1, requests.Length == 0 ? 0 : requests.Max());
        html.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" width=\"{ChartWidth}\" height=\"{ChartHeight}\" viewBox=\"0 0 {ChartWidth} {ChartHeight}\" role=\"img\" aria-label=\"{E(service)}: requests and 5xx per second\">");
        html.Append(CultureInfo.InvariantCulture, $"<title>{E(service)}: up to {max:0.##} requests/s over {requests.Length * RequestRateHistory.Interval.TotalSeconds:0} s</title>");
        Line(html, "requests", "#2a8a2a", requests, max);
        Line(html, "errors", "#d02020", errors, max);
        html.Append("</svg> ");
        var now = requests.Length == 0 ? "collecting" : $"{requests[^1]:0.##}/s, 5xx {errors[^1]:0.##}/s";
        html.Append(CultureInfo.InvariantCulture, $"<span class=\"rate\">{now}</span>");

        static void Line(StringBuilder html, string kind, string colour, double[] values, double max)
        {
            html.Append(CultureInfo.InvariantCulture, $"<polyline class=\"{kind}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"");
            var step = (double)ChartWidth / (RequestRateHistory.Points - 1);
            var start = ChartWidth - (step * (values.Length - 1));
            for (var i = 0; i < values.Length; i++)
            {
                var x = start + (step * i);
                var y = ChartHeight - 2 - ((ChartHeight - 4) * values[i] / max);
                html.Append(CultureInfo.InvariantCulture, $"{x:0.#},{y:0.#} ");
            }

            html.Append("\"/>");
        }
    }

    /// <summary>The change-to-live histogram as bars per bucket, with its median and 99th percentile (bucket bounds).</summary>
    private static void ApplyHistogram(StringBuilder html, SecondsHistogram histogram)
    {
        var (cumulative, count, sum) = histogram.Read();
        html.Append("<h2>Change to live</h2>");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">etcd answer arrived &rarr; new routing table in use: {count} changes");
        if (count > 0)
        {
            html.Append(CultureInfo.InvariantCulture, $", mean {sum / count * 1000:0.##} ms, median &le; {Bound(0.5)}, 99th percentile &le; {Bound(0.99)}");
        }

        html.Append("</p>");
        var bars = cumulative.Length;
        const int barWidth = 42;
        const int height = 60;
        var counts = cumulative.Select((c, i) => c - (i == 0 ? 0 : cumulative[i - 1])).ToArray();
        var most = Math.Max(1, counts.Max());
        html.Append(CultureInfo.InvariantCulture, $"<svg id=\"apply-histogram\" class=\"chart\" width=\"{bars * barWidth}\" height=\"{height + 14}\" role=\"img\" aria-label=\"change-to-live histogram\">");
        for (var i = 0; i < bars; i++)
        {
            var h = height * counts[i] / (double)most;
            var label = i < histogram.Buckets.Count ? Label(histogram.Buckets[i]) : "more";
            html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{(i * barWidth) + 3}\" y=\"{height - h:0.#}\" width=\"{barWidth - 6}\" height=\"{h:0.#}\" fill=\"#4a7ab8\"><title>&le; {label}: {counts[i]}</title></rect>");
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{(i * barWidth) + (barWidth / 2)}\" y=\"{height + 11}\" font-size=\"9\" text-anchor=\"middle\">{label}</text>");
        }

        html.Append("</svg>");

        string Bound(double quantile)
        {
            for (var i = 0; i < histogram.Buckets.Count; i++)
            {
                if (cumulative[i] >= quantile * count)
                {
                    return Label(histogram.Buckets[i]);
                }
            }

            return "more than " + Label(histogram.Buckets[^1]);
        }

        static string Label(double seconds) => seconds < 1
            ? string.Create(CultureInfo.InvariantCulture, $"{seconds * 1000:0.#} ms")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds:0.#} s");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
