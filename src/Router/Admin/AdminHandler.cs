using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Router.Dns;
using Router.Metrics;
using Router.Registry;
using Router.Routing;
using Router.Tcp;
using Router.Tls;

namespace Router.Admin;

/// <summary>The admin listener: <c>/healthz</c>, <c>/readyz</c>, <c>/status</c>.</summary>
internal sealed class AdminHandler
{
    private readonly IRegistrySource _registry;
    private readonly RouteTableHolder _routes;
    private readonly HostPortManager _ports;
    private readonly RouterMetrics _metrics;
    private readonly DrainState _drain;
    private readonly TimeProvider _time;
    private readonly DnsResponder? _dns;
    private readonly RequestRateHistory? _rates;
    private readonly TlsStatus _tls;

    /// <param name="dns">The DNS responder, absent with <c>--dns off</c>.</param>
    /// <param name="rates">The request-rate history behind the page's charts.</param>
    public AdminHandler(IRegistrySource registry, RouteTableHolder routes, HostPortManager ports, RouterMetrics metrics, DrainState drain, TimeProvider time, TlsStatus tls, DnsResponder? dns = null, RequestRateHistory? rates = null)
    {
        _rates = rates;
        _tls = tls;
        _dns = dns;
        _metrics = metrics;
        _registry = registry;
        _routes = routes;
        _ports = ports;
        _drain = drain;
        _time = time;
    }

    public Task HandleAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            return Text(context, StatusCodes.Status405MethodNotAllowed, "GET only\n");
        }

        return context.Request.Path.Value switch
        {
            // Alive while it serves, etcd or not: the last table keeps routing.
            "/healthz" => Text(context, StatusCodes.Status200OK, "ok\n"),
            "/readyz" => _drain.Draining
                ? Text(context, StatusCodes.Status503ServiceUnavailable, "draining\n")
                : _routes.FromEtcd
                    ? Text(context, StatusCodes.Status200OK, "ready\n")
                    : Text(context, StatusCodes.Status503ServiceUnavailable, "registry not read yet\n"),
            "/status" => StatusAsync(context),
            "/metrics" => MetricsAsync(context),
            "/" => PageAsync(context),
            _ => Text(context, StatusCodes.Status404NotFound, "not found; try /status, /metrics, /healthz, /readyz\n"),
        };
    }

    private Task StatusAsync(HttpContext context)
    {
        var report = StatusReport.Create(_registry, _routes, _ports, _drain, _time, _tls) with { Dns = _dns?.Report() };
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, report, StatusJson.Default.StatusReport, context.RequestAborted);
    }

    private Task PageAsync(HttpContext context)
    {
        var report = StatusReport.Create(_registry, _routes, _ports, _drain, _time, _tls) with { Dns = _dns?.Report() };
        var extras = new PageExtras(_rates?.Read() ?? new Dictionary<string, (double[], double[])>(), _routes.ApplyTimes);
        var version = typeof(AdminHandler).Assembly.GetName().Version?.ToString() ?? "";
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(StatusPage.Render(report, version, extras, Refresh(context)), context.RequestAborted);
    }

    /// <summary><c>/?refresh=N</c>: reload every N seconds (0: never, 1–3600); 5 otherwise.</summary>
    private static int Refresh(HttpContext context) =>
        int.TryParse(context.Request.Query["refresh"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds <= 3600
            ? seconds
            : 5;

    private Task MetricsAsync(HttpContext context)
    {
        var text = MetricsText.Render(_metrics, _registry, _routes, _ports, _tls, _time);
        if (_dns is not null)
        {
            text += DnsMetricsText.Render(_dns.Report());
        }
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }

    private static Task Text(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text);
    }
}
