using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Router.AccessLog;
using Router.Metrics;
using Router.Registry.Model;
using Yarp.ReverseProxy.Forwarder;

namespace Router.Routing;

/// <summary>
/// Handles every request on the shared HTTP port: match a service, check private access, forward with
/// YARP's forwarder, and retry a connect failure (nothing reached the backend) on another host.
/// </summary>
internal sealed partial class ProxyHandler
{
    public const string HealthPath = "/_router/healthz";

    private const string FragmentRefused = "a request target cannot hold a fragment ('#'); send it as %23 if it belongs to the path\n";

    /// <summary>Connect failures tried per request before giving up: enough to pass a few dead hosts, bounded.</summary>
    internal const int MaxAttempts = 4;

    private readonly RouteTableHolder _routes;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _client;
    private readonly DirectPath? _direct;
    private readonly InternalNetworks _internalNetworks;
    private readonly DrainState _drain;
    private readonly TimeProvider _time;
    private readonly RouterMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly HttpsRedirect _httpsRedirect;
    private readonly TrustedProxies _trusted;

    private readonly ForwardingTransformer _keep;
    private readonly ForwardingTransformer _strip;

    public ProxyHandler(RouteTableHolder routes, IHttpForwarder forwarder, BackendClient client, DirectPath direct, ForwardingOptions options, InternalNetworks internalNetworks, TrustedProxies trusted, DrainState drain, TimeProvider time, RouterMetrics metrics, ILogger<ProxyHandler> logger)
    {
        _trusted = trusted;
        _keep = new ForwardingTransformer(stripFirstSegment: false, trusted);
        _strip = new ForwardingTransformer(stripFirstSegment: true, trusted);
        _metrics = metrics;
        _routes = routes;
        _forwarder = forwarder;
        _client = client.Invoker;
        _direct = options.DirectForwarding ? direct : null;
        _requestConfig = new ForwarderRequestConfig
        {
            ActivityTimeout = options.BackendTimeout,
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        _internalNetworks = internalNetworks;
        _httpsRedirect = new HttpsRedirect(options.Https);
        _drain = drain;
        _time = time;
        _logger = logger;
    }

    public Task HandleAsync(HttpContext context)
    {
        ConnectionHeader.BeginRequest();
        if (HasFragment(context))
        {
            return Plain(context, StatusCodes.Status400BadRequest, FragmentRefused);
        }

        var request = context.Request;
        var match = RouteMatcher.Match(_routes.Current, request.Host.Value, request.Path.Value);
        if (match.Route is not { } route)
        {
            if (request.Path.Equals(HealthPath, StringComparison.Ordinal))
            {
                // The cloud load balancer's check: 503 while draining takes the node out before it stops.
                return Plain(context, _drain.Draining ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK, _drain.Draining ? "draining\n" : "ok\n");
            }

            return Plain(context, StatusCodes.Status404NotFound, "no such service\n");
        }

        return ServeAsync(context, route, stripFirstSegment: match.Kind == MatchKind.Path && route.Entry.StripPath);
    }

    /// <summary>
    /// Handles a request on a service's own host_port: every request goes to that service, whatever its
    /// Host and path.
    /// </summary>
    public Task HandleServiceAsync(HttpContext context, string service)
    {
        ConnectionHeader.BeginRequest();
        if (HasFragment(context))
        {
            return Plain(context, StatusCodes.Status400BadRequest, FragmentRefused);
        }

        if (!_routes.Current.TryGet(service, out var route))
        {
            return Plain(context, StatusCodes.Status404NotFound, "no such service\n");
        }

        return ServeAsync(context, route, stripFirstSegment: false);
    }

    /// <summary>
    /// A '#' in the target as sent. A request target has no fragment (RFC 9112 §3.2), and Kestrel passes one
    /// on: a backend or a rule behind the router could read the path as ending there, where the route was
    /// chosen by all of it. HAProxy refuses it too. A '#' sent encoded (<c>%23</c>) is part of the path.
    /// </summary>
    private static bool HasFragment(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>()?.RawTarget.Contains('#', StringComparison.Ordinal) == true;

    private Task ServeAsync(HttpContext context, ServiceRoute route, bool stripFirstSegment)
    {
        var started = _time.GetTimestamp();
        var entry = route.Entry;
        var request = context.Request;
        if (entry.Scheme is ServiceScheme.Tcp or ServiceScheme.Tls || _internalNetworks.ShutsOut(entry, context.Connection.RemoteIpAddress))
        {
            // A private service is invisible from outside: the same answer as an unknown one (and not counted).
            // The access log is the operator's, so it names the service the client was kept from.
            NameInAccessLog(context, route);
            return Plain(context, StatusCodes.Status404NotFound, "no such service\n");
        }

        if (entry.Scheme == ServiceScheme.Https && !HttpsRedirect.ArrivedOverHttps(context, _trusted) && !HttpsRedirect.IsExempt(request.Path))
        {
            NameInAccessLog(context, route);
            return RedirectToHttpsAsync(context, route, started);
        }

        return ForwardAsync(context, route, direct: _direct is not null && _direct.Takes(context), stripFirstSegment, started);
    }

    /// <summary>
    /// A plain request to an https-only service: redirected to this router's HTTPS port (400 when it names no
    /// host to redirect to); without an HTTPS port, 503 with a plain answer (the service is unreachable here, which is a problem in /status, not a move: a 301 would
    /// be cached by browsers and send them to a port nobody listens on).
    /// </summary>
    private Task RedirectToHttpsAsync(HttpContext context, ServiceRoute route, long started)
    {
        var request = context.Request;
        Task answered;
        if (_httpsRedirect.Location(request) is { } location)
        {
            context.Response.StatusCode = HttpsRedirect.StatusFor(request.Method);
            context.Response.Headers.Location = location;
            answered = Task.CompletedTask;
        }
        else
        {
            answered = _httpsRedirect.HttpsServed
                ? Plain(context, StatusCodes.Status400BadRequest, "this service is served over HTTPS only; send a Host header to be redirected\n")
                : Plain(context, StatusCodes.Status503ServiceUnavailable, "this service is served over HTTPS only, and this router serves no HTTPS\n");
        }

        _metrics.For(route.Name).Record(request.Method, context.Response.StatusCode, _time.GetElapsedTime(started));
        return answered;
    }

    /// <summary>
    /// An answer the router gives itself for a known service (redirect, private 404): the access log line names
    /// the service; Backend and Forwarder stay "-", as nothing was forwarded. Forwarded requests fill their
    /// record in <see cref="ForwardAsync"/>. Off, there is no record to find.
    /// </summary>
    private static void NameInAccessLog(HttpContext context, ServiceRoute route)
    {
        if (context.Features.Get<AccessRecord>() is { } record)
        {
            record.Service = route.Name;
        }
    }

    /// <summary>Tries the route's hosts in turn until one was reached; a connect failure sets that host aside.</summary>
    private async Task ForwardAsync(HttpContext context, ServiceRoute route, bool direct, bool stripFirstSegment, long started)
    {
        Destination? tried = null;
        var attempts = 0;
        try
        {
            var walk = new DestinationWalk(route, MaxAttempts);
            while (walk.TryNext(_time.GetTimestamp(), out var destination))
            {
                (tried, attempts) = (destination, attempts + 1);
                var result = direct
                    ? await ForwardDirectAsync(context, route, destination, stripFirstSegment).ConfigureAwait(false)
                    : await ForwardWithYarpAsync(context, route, destination, stripFirstSegment).ConfigureAwait(false);
                if (!result.ConnectFailed)
                {
                    return;
                }

                ConnectFailed(_logger, _time, route, destination, result.Reason);
            }

            // Every host tried failed to connect, or none was usable (all set aside, or none registered).
            await Plain(context, BackendFailures.StatusCode(BackendFailure.ConnectFailed), "no usable host for this service\n").ConfigureAwait(false);
        }
        finally
        {
            _metrics.For(route.Name).Record(context.Request.Method, context.Response.StatusCode, _time.GetElapsedTime(started));

            // Present only while the access log is on.
            if (context.Features.Get<AccessRecord>() is { } record)
            {
                // No host tried (none registered): nothing went through either path, so no Forwarder either.
                (record.Service, record.Backend, record.Forwarder, record.Retries) = (route.Name, tried?.Host.Authority, tried is null ? null : direct ? "direct" : "yarp", Math.Max(0, attempts - 1));
            }
        }
    }

    private async ValueTask<AttemptResult> ForwardDirectAsync(HttpContext context, ServiceRoute route, Destination destination, bool stripFirstSegment)
    {
        var result = await _direct!.ForwardAsync(context, destination, stripFirstSegment).ConfigureAwait(false);
        if (result.Outcome == AttemptOutcome.Reached)
        {
            // Only a connect proves a host alive or dead; what it answered is the client's business.
            Reached(route, destination);
        }

        return result;
    }

    private async ValueTask<AttemptResult> ForwardWithYarpAsync(HttpContext context, ServiceRoute route, Destination destination, bool stripFirstSegment)
    {
        var transformer = stripFirstSegment ? _strip : _keep;
        var error = await _forwarder.SendAsync(context, destination.Prefix, _client, _requestConfig, transformer, destination.Retired).ConfigureAwait(false);
        if (error == ForwarderError.None)
        {
            Reached(route, destination);
            return AttemptResult.Done;
        }

        if (BackendFailures.FromYarp(error, context.GetForwarderErrorFeature()?.Exception) != BackendFailure.ConnectFailed || context.Response.HasStarted)
        {
            // The request reached the backend (or may have): retrying could run it twice. YARP has already
            // answered 502/504.
            return AttemptResult.Done;
        }

        var reason = context.GetForwarderErrorFeature()?.Exception?.Message;
        context.Features.Set<IForwarderErrorFeature>(null);
        context.Response.StatusCode = StatusCodes.Status200OK;
        return AttemptResult.ConnectFailure(reason ?? "connect failed");
    }

    /// <summary>The host was reached: usable again, and one line when that ends a run of failures (the warning's pair).</summary>
    private void Reached(ServiceRoute route, Destination destination) => Reached(_logger, route, destination);

    /// <summary><see cref="Reached(ServiceRoute, Destination)"/> for the connection-level path, which shares these lines.</summary>
    internal static void Reached(ILogger logger, ServiceRoute route, Destination destination)
    {
        if (destination.ReportSuccess())
        {
            Log.HostAnsweringAgain(logger, route.Name, destination.Host.Authority);
        }
    }

    /// <summary>A connect to the host failed: it is set aside, with a warning when it starts failing, not for every request that finds it still down.</summary>
    internal static void ConnectFailed(ILogger logger, TimeProvider time, ServiceRoute route, Destination destination, string? reason) =>
        Log.ConnectFailed(logger, destination.ReportConnectFailure(time) ? LogLevel.Warning : LogLevel.Debug, route.Name, destination.Host.Authority, reason);

    private static Task Plain(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = EventIds.ProxyConnectFailed, Message = "Connect to {Service} host {Host} failed ({Reason}); set aside, trying another")]
        public static partial void ConnectFailed(ILogger logger, LogLevel level, string service, string host, string? reason);

        [LoggerMessage(EventId = EventIds.ProxyHostAnsweringAgain, Level = LogLevel.Information, Message = "{Service} host {Host} answering again; back in use")]
        public static partial void HostAnsweringAgain(ILogger logger, string service, string host);
    }
}
