using System.Globalization;
using System.Text;
using Router.Metrics;
using Router.Registry;
using Router.Routing;
using Router.Routing.Direct;
using Router.Tcp;
using Router.Tls;
using static Router.Admin.PrometheusFormat;

namespace Router.Admin;

/// <summary>
/// The router's part of <c>GET /metrics</c> in Prometheus text: the counters of <see cref="RouterMetrics"/> and
/// what the features show (hosts' health, idle backend connections, listeners, certificates). Names follow
/// the style of HAProxy's and Traefik's exporters.
/// </summary>
internal static class MetricsText
{
    public static string Render(RouterMetrics metrics, IRegistrySource registry, RouteTableHolder holder, HostPortManager ports, TlsStatus tls, TimeProvider time)
    {
        var table = holder.Current;
        metrics.Forget(name => table.TryGet(name, out _));
        var text = new StringBuilder(4096);
        var status = registry.Status;
        var now = time.GetTimestamp();

        Header(text, "router_service_requests_total", "counter", "Requests answered, by service, status code and method.");
        foreach (var (name, service) in metrics.Services.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            foreach (var (code, method, count) in service.Requests)
            {
                text.Append(CultureInfo.InvariantCulture, $"router_service_requests_total{{service=\"{name}\",code=\"{code}\",method=\"{method}\"}} {count}\n");
            }
        }

        Header(text, "router_service_request_duration_seconds", "histogram", "Time to answer a request, by service.");
        foreach (var (name, service) in metrics.Services.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var (cumulative, count, sum) = service.Histogram();
            for (var i = 0; i < ServiceMetrics.Buckets.Length; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"router_service_request_duration_seconds_bucket{{service=\"{name}\",le=\"{ServiceMetrics.Buckets[i]}\"}} {cumulative[i]}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"router_service_request_duration_seconds_bucket{{service=\"{name}\",le=\"+Inf\"}} {cumulative[^1]}\n");
            text.Append(CultureInfo.InvariantCulture, $"router_service_request_duration_seconds_sum{{service=\"{name}\"}} {sum}\n");
            text.Append(CultureInfo.InvariantCulture, $"router_service_request_duration_seconds_count{{service=\"{name}\"}} {count}\n");
        }

        Header(text, "router_service_server_up", "gauge", "1 when a host is usable, 0 while it is set aside after connect failures.");
        foreach (var (route, destination) in Destinations(table))
        {
            text.Append(CultureInfo.InvariantCulture, $"router_service_server_up{{service=\"{route.Name}\",instance=\"{Escape(destination.Host.Id)}\"}} {(destination.IsUsable(now) ? 1 : 0)}\n");
        }

        Header(text, "router_backend_idle_connections", "gauge", "Kept-alive backend connections of the direct HTTP path waiting for a request, per host.");
        foreach (var (route, destination) in Destinations(table))
        {
            if (destination.PoolIfCreated is BackendPool pool)
            {
                text.Append(CultureInfo.InvariantCulture, $"router_backend_idle_connections{{service=\"{route.Name}\",instance=\"{Escape(destination.Host.Id)}\"}} {pool.IdleCount}\n");
            }
        }

        Header(text, "router_direct_requests_total", "counter", "Requests forwarded on the direct HTTP/1.1 path (the rest go through YARP).");
        text.Append(CultureInfo.InvariantCulture, $"router_direct_requests_total {metrics.Direct.Forwarded}\n");
        Header(text, "router_direct_connection_level_requests_total", "counter", "Of those, plain GET and HEAD requests taken at the connection, below Kestrel's HTTP layer.");
        text.Append(CultureInfo.InvariantCulture, $"router_direct_connection_level_requests_total {metrics.Direct.ConnectionLevel}\n");
        Header(text, "router_direct_stale_retries_total", "counter", "Requests sent again because the backend had closed a kept-alive connection.");
        text.Append(CultureInfo.InvariantCulture, $"router_direct_stale_retries_total {metrics.Direct.StaleRetries}\n");
        Header(text, "router_direct_backend_errors_total", "counter", "Direct-path requests a backend failed: a broken response, a connection closed or broken, silence past --backend-timeout.");
        foreach (var failure in BackendFailures.Counted)
        {
            var label = BackendFailures.CounterLabel(failure)!;
            text.Append(CultureInfo.InvariantCulture, $"router_direct_backend_errors_total{{reason=\"{label}\"}} {metrics.Direct.Failures(label)}\n");
        }

        Header(text, "router_direct_client_aborts_total", "counter", "Direct-path requests whose client went away or stopped reading while the backend answered (not a backend failure).");
        text.Append(CultureInfo.InvariantCulture, $"router_direct_client_aborts_total {metrics.Direct.ClientGone}\n");

        Header(text, "router_registry_revision", "gauge", "etcd revision of the routing table.");
        text.Append(CultureInfo.InvariantCulture, $"router_registry_revision {status.Revision}\n");
        Header(text, "router_registry_age_seconds", "gauge", "Seconds since the table was last known to match etcd.");
        var age = status.LastSync is { } sync ? (time.GetUtcNow() - sync).TotalSeconds : double.NaN;
        text.Append(CultureInfo.InvariantCulture, $"router_registry_age_seconds {age}\n");
        Header(text, "router_registry_connected", "gauge", "1 while the etcd watch is connected.");
        text.Append(CultureInfo.InvariantCulture, $"router_registry_connected {(status.Connected ? 1 : 0)}\n");
        Header(text, "router_registry_problems", "gauge", "Problems /status lists: registry entries skipped as bad, host_port conflicts, HTTPS and certificate problems.");
        text.Append(CultureInfo.InvariantCulture, $"router_registry_problems {registry.Current.Problems.Length + holder.Problems.Length + ports.Problems.Count + tls.Problems.Count()}\n");
        // etcd gives no time of a put (only revisions), so the lag before the watch event arrives is not measured.
        Header(text, "router_config_apply_seconds", "histogram", "Registry change to live table: from etcd's answer (watch event or full read) arriving to the new routing table in use.");
        var (applied, appliedCount, appliedSum) = holder.ApplyTimes.Read();
        for (var i = 0; i < holder.ApplyTimes.Buckets.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"router_config_apply_seconds_bucket{{le=\"{holder.ApplyTimes.Buckets[i]}\"}} {applied[i]}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"router_config_apply_seconds_bucket{{le=\"+Inf\"}} {applied[^1]}\n");
        text.Append(CultureInfo.InvariantCulture, $"router_config_apply_seconds_sum {appliedSum}\n");
        text.Append(CultureInfo.InvariantCulture, $"router_config_apply_seconds_count {appliedCount}\n");

        Header(text, "router_host_port_connections", "gauge", "Open TCP connections (or HTTP requests in flight) per host_port listener, listening or draining.");

        // One series per label set: a port given up and claimed again by the same service within the drain time
        // has a draining and a listening listener (or several draining ones); they are summed per state.
        foreach (var group in ports.Listeners.Where(l => l.State != "failed").GroupBy(l => (l.Port, l.Service, l.Kind, l.State)).OrderBy(g => g.Key.Port).ThenBy(g => g.Key.State, StringComparer.Ordinal))
        {
            var (port, service, kind, state) = group.Key;
            text.Append(CultureInfo.InvariantCulture, $"router_host_port_connections{{port=\"{port}\",service=\"{service}\",kind=\"{kind}\",state=\"{state}\"}} {group.Sum(l => l.Connections)}\n");
        }

        RenderTcp(text, metrics.Tcp, "router_tcp", "a host_port", refusals: true);
        // Kestrel's connection limit refuses HTTPS connections before the peek: no refusals of its own here.
        RenderTcp(text, metrics.Tls.Services, "router_tls_passthrough", "the HTTPS port (TLS passthrough)", refusals: false);
        Header(text, "router_tls_hello_refused_total", "counter", "HTTPS connections closed before TLS because their first bytes were no ClientHello, one too large, or none in time.");
        text.Append(CultureInfo.InvariantCulture, $"router_tls_hello_refused_total{{reason=\"not_tls\"}} {metrics.Tls.NotTls}\n");
        text.Append(CultureInfo.InvariantCulture, $"router_tls_hello_refused_total{{reason=\"too_large\"}} {metrics.Tls.TooLarge}\n");
        text.Append(CultureInfo.InvariantCulture, $"router_tls_hello_refused_total{{reason=\"timeout\"}} {metrics.Tls.TimedOut}\n");
        Header(text, "router_tls_certificate_not_after_seconds", "gauge", "When the certificate served for a name expires, in Unix seconds.");
        foreach (var (name, notAfter) in tls.ServedNames)
        {
            text.Append(CultureInfo.InvariantCulture, $"router_tls_certificate_not_after_seconds{{name=\"{Escape(name)}\"}} {notAfter.ToUnixTimeSeconds()}\n");
        }

        return text.ToString();
    }

    private static void RenderTcp(StringBuilder text, TcpCounters counters, string prefix, string where, bool refusals)
    {
        var services = counters.Services.ToList();
        Counter("connections_total", $"TCP connections admitted on {where}, by service (counted at accept).", c => c.Accepted);
        if (refusals)
        {
            Counter("connections_refused_total", "TCP connections closed at once because --tcp-max-connections or the open-file budget was reached.", c => c.Refused);
        }

        Counter("connect_failures_total", $"Backend connects of relays on {where} that failed (refused or timed out).", c => c.ConnectFailures);
        Counter("bytes_in_total", $"Bytes relays on {where} received from clients, by service.", c => c.BytesFromClients);
        Counter("bytes_out_total", $"Bytes relays on {where} sent to clients, by service.", c => c.BytesToClients);

        void Counter(string name, string help, Func<TcpServiceCounters, long> value)
        {
            Header(text, $"{prefix}_{name}", "counter", help);
            foreach (var (service, c) in services)
            {
                text.Append(CultureInfo.InvariantCulture, $"{prefix}_{name}{{service=\"{service}\"}} {value(c)}\n");
            }
        }
    }

    private static IEnumerable<(ServiceRoute Route, Destination Destination)> Destinations(RouteTable table) =>
        table.Routes.OrderBy(r => r.Name, StringComparer.Ordinal).SelectMany(r => r.Destinations.Select(d => (r, d)));
}
