using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Router.Dns;
using Router.Hosting;
using Router.Metrics;
using Router.Registry;
using Router.Routing;
using Router.Tcp;
using Router.Tls;

namespace Router.Admin;

/// <summary>The admin listener: <c>/healthz</c>, <c>/readyz</c>, <c>/status</c>.</summary>
internal sealed class AdminHandler
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private readonly IRegistrySource _registry;
    private readonly RouteTableHolder _routes;
    private readonly HostPortManager _ports;
    private readonly RouterMetrics _metrics;
    private readonly DrainState _drain;
    private readonly TimeProvider _time;
    private readonly DnsResponder? _dns;
    private readonly TlsStatus _tls;

    /// <param name="dns">The DNS responder, absent with <c>--dns off</c>.</param>
    public AdminHandler(IRegistrySource registry, RouteTableHolder routes, HostPortManager ports, RouterMetrics metrics, DrainState drain, TimeProvider time, TlsStatus tls, DnsResponder? dns = null)
    {
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
                : _registry.Status.Ready
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
        return JsonSerializer.SerializeAsync(context.Response.Body, report, Json, context.RequestAborted);
    }

    private Task PageAsync(HttpContext context)
    {
        var report = StatusReport.Create(_registry, _routes, _ports, _drain, _time, _tls);
        var version = typeof(AdminHandler).Assembly.GetName().Version?.ToString() ?? "";
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(StatusPage.Render(report, version), context.RequestAborted);
    }

    private Task MetricsAsync(HttpContext context)
    {
        var text = _metrics.Render(_registry, _routes, _ports, _time) + _tls.RenderMetrics();
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
