using System.Globalization;
using System.Net;
using System.Text;

namespace Router.Admin;

/// <summary>
/// <c>GET /</c> on the admin port: the status for people. Problems first, then every service with its hosts,
/// coloured as HAProxy's stats page (green up, orange set aside, red no usable host).
/// </summary>
internal static class StatusPage
{
    public static string Render(StatusReport report, string version)
    {
        var html = new StringBuilder(8192);
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
            <title>router status</title>
            <style>
            body{font:13px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
            h1{font-size:18px;margin:0 0 .3em} h2{font-size:15px;margin:1.2em 0 .4em}
            table{border-collapse:collapse;margin-bottom:.8em} th,td{border:1px solid #bbb;padding:2px 8px;text-align:left}
            th{background:#ddd} .up{background:#c0ffc0} .aside{background:#ffd080} .down{background:#ff9090}
            .problem{background:#ffe0e0} .muted{color:#666} code{font-size:12px}
            </style></head><body>
            """);
        html.Append(CultureInfo.InvariantCulture, $"<h1>router</h1><p class=\"muted\">{E(version)} &middot; etcd {(report.Etcd.Connected ? "connected" : "<b>disconnected</b>")} ({E(report.Etcd.Current ?? "-")}) &middot; revision {report.Etcd.Revision}");
        if (report.Etcd.TableAgeSeconds is { } age)
        {
            html.Append(CultureInfo.InvariantCulture, $" &middot; table age {age:F1} s");
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
        html.Append("<table><tr><th>service</th><th>scheme</th><th>host_port</th><th>private</th><th>host</th><th>address</th><th>health</th><th>failures</th></tr>");
        foreach (var service in report.Services)
        {
            var rows = Math.Max(1, service.Hosts.Count);
            var anyUp = service.Hosts.Any(h => h.Health == "up");
            var port = service.HostPort is { } p ? (service.HostPortOwned ? p.ToString(CultureInfo.InvariantCulture) : $"{p} (not owned)") : "";
            html.Append(CultureInfo.InvariantCulture, $"<tr><td rowspan=\"{rows}\" class=\"{(anyUp ? "up" : "down")}\"><b>{E(service.Name)}</b></td><td rowspan=\"{rows}\">{E(service.Scheme)}</td><td rowspan=\"{rows}\">{E(port)}</td><td rowspan=\"{rows}\">{(service.Private ? "yes" : "")}</td>");
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

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
