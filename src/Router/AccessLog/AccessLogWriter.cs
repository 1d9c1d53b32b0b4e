using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Serilog;
using Serilog.Core;
using Serilog.Formatting.Compact;

namespace Router.AccessLog;

/// <summary>
/// <c>--access-log stdout|PATH</c>: one structured line per request (1 in <c>--access-log-sample</c>), through
/// a Serilog logger of its own (compact JSON, the format of the router's other lines). Wraps the request
/// handler only when on: with the access log off the host calls the handler directly, and nothing here
/// runs or allocates.
/// </summary>
internal sealed class AccessLogWriter : IDisposable
{
    private const string Template = "{Client} {Method} {RequestHost}{Target} {Status} {Bytes} {DurationMs:F2} ms -> {Service} {Backend} via {Forwarder}, {Retries} retries";

    private readonly Logger _logger;
    private readonly int _sample;
    private readonly TimeProvider _time;
    private long _seen;

    private AccessLogWriter(Logger logger, int sample, TimeProvider time)
    {
        _logger = logger;
        _sample = sample;
        _time = time;
    }

    /// <summary>The writer for <paramref name="target"/> (<c>stdout</c> or a file path), or null when off.</summary>
    public static AccessLogWriter? Create(string? target, int sample, TimeProvider time)
    {
        if (target is null)
        {
            return null;
        }

        var configuration = new LoggerConfiguration().MinimumLevel.Information();
        var logger = target == "stdout"
            ? configuration.WriteTo.Console(new CompactJsonFormatter()).CreateLogger()
            : configuration.WriteTo.File(new CompactJsonFormatter(), target, flushToDiskInterval: TimeSpan.FromSeconds(1)).CreateLogger();
        return new AccessLogWriter(logger, sample, time);
    }

    public Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        // 1 in N, counted: cheap, and an exact share over any stretch of traffic.
        if (_sample > 1 && Interlocked.Increment(ref _seen) % _sample != 0)
        {
            return next(context);
        }

        return LoggedAsync(context, next);
    }

    public void Dispose() => _logger.Dispose();

    private async Task LoggedAsync(HttpContext context, RequestDelegate next)
    {
        var started = _time.GetTimestamp();
        var record = new AccessRecord();
        context.Features.Set(record);
        var body = new CountingResponseBody(context.Features.GetRequiredFeature<IHttpResponseBodyFeature>());
        context.Features.Set<IHttpResponseBodyFeature>(body);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var request = context.Request;
            _logger.Information(
                Template,
                context.Connection.RemoteIpAddress?.ToString() ?? "-",
                request.Method,
                request.Host.Value ?? "",
                // As the client sent it (not decoded), so the line shows what reached the router.
                context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value + request.QueryString.Value,
                context.Response.StatusCode,
                body.Bytes,
                _time.GetElapsedTime(started).TotalMilliseconds,
                record.Service ?? "-",
                record.Backend ?? "-",
                record.Forwarder ?? "-",
                record.Retries);
        }
    }
}
