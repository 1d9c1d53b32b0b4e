using System.Runtime.CompilerServices;
using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Router.Metrics;

namespace Router.Routing.Direct;

/// <summary>
/// Forwards plain HTTP/1.x requests without a body (GET, HEAD, DELETE, …: most of a proxy's traffic)
/// over kept-alive backend connections of its own: the request head is written once from Kestrel's
/// headers, the response head parsed once into Kestrel's, and the body copied as it comes. No
/// HttpRequestMessage, no HttpClient pool, no YARP pipeline: that per-request work was most of the
/// router's user-space CPU (docs/benchmarks.md). Everything else (bodies, upgrades, HTTP/2 clients) goes
/// through YARP.
/// </summary>
internal sealed partial class DirectForwarder : DirectPath, IDisposable
{
    private readonly RouteTableHolder _routes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _sweep;
    private readonly DirectPathCounters _counters;

    /// <summary>Longest silence from the backend within one request (--backend-timeout; YARP's ActivityTimeout is set the same).</summary>
    private readonly TimeSpan _activityTimeout;

    private readonly TrustedProxies _trusted;

    public DirectForwarder(RouteTableHolder routes, ForwardingOptions options, RouterMetrics metrics, TrustedProxies trusted, TimeProvider time, ILogger<DirectForwarder> logger)
    {
        _trusted = trusted;
        _counters = metrics.Direct;
        _activityTimeout = options.BackendTimeout;
        _routes = routes;
        _time = time;
        _logger = logger;
        _sweep = time.CreateTimer(static s => ((DirectForwarder)s!).Sweep(), this, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15));
    }

    /// <summary>Whether this path can take the request; otherwise YARP does.</summary>
    public static bool CanForward(HttpContext context)
    {
        var request = context.Request;
        if (!HttpProtocol.IsHttp11(request.Protocol) && !HttpProtocol.IsHttp10(request.Protocol))
        {
            return false;
        }

        var headers = request.Headers;
        if (request.ContentLength is > 0 || headers.TransferEncoding.Count != 0 || headers.Upgrade.Count != 0 || headers.Expect.Count != 0
            || context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true } || HttpMethods.IsConnect(request.Method))
        {
            return false;
        }

        // The target goes out as the client sent it (ForwardingPolicy.TryGetTarget), so it must mean what
        // the route was chosen by: a target with dot segments takes YARP, which sends the resolved path.
        return ForwardingPolicy.TryGetTarget(context, stripFirstSegment: false, out _);
    }

    public override bool Takes(HttpContext context) => CanForward(context);

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    public override async ValueTask<AttemptResult> ForwardAsync(HttpContext context, Destination destination, bool stripFirstSegment)
    {
        var pool = (BackendPool)destination.Pool(NewPool);
        var connection = pool.Rent();
        var reused = connection is not null;
        if (connection is null)
        {
            var connected = await ConnectAsync(context, destination).ConfigureAwait(false);
            if (connected.Connection is null)
            {
                return connected.Result;
            }

            connection = connected.Connection;
        }

        _counters.CountForwarded();
        var isHead = HttpMethods.IsHead(context.Request.Method);
        while (true)
        {
            WriteRequestHead(context, connection.Head, destination, stripFirstSegment, _trusted);
            var aborted = context.RequestAborted.UnsafeRegister(static s => ((BackendConnection)s!).Abort(AbortReason.ClientGone), connection);
            var retired = destination.Retired.UnsafeRegister(static s => ((BackendConnection)s!).Abort(AbortReason.Retired), connection);
            var reuse = false;
            try
            {
                reuse = await ExchangeAsync(context, connection, isHead).ConfigureAwait(false);
                return AttemptResult.Done;
            }
            catch (Exception e) when (IsFailure(e))
            {
                if (reused && !connection.ReceivedAny && connection.AbortedBy == AbortReason.None && e is not BackendProtocolException
                    && ForwardingPolicy.MaySendAgain(context.Request.Method))
                {
                    // A kept-alive connection the backend closed as the request went out: nothing was
                    // answered, but the backend may have read the request, so only an idempotent one goes
                    // again on a new connection, below (RFC 9110 section 9.2.2); any other gets 502.
                    _counters.CountStaleRetry();
                }
                else
                {
                    Fail(context, connection, destination, e);
                    return AttemptResult.Done;
                }
            }
            finally
            {
                aborted.Unregister();
                retired.Unregister();
                pool.Release(connection, reuse);
            }

            // Only a stale kept-alive connection gets here: every other outcome returned above.
            var fresh = await ConnectAsync(context, destination).ConfigureAwait(false);
            if (fresh.Connection is null)
            {
                return fresh.Result;
            }

            connection = fresh.Connection;
            reused = false;
        }
    }

    public void Dispose() => _sweep.Dispose();

    private async ValueTask<(BackendConnection? Connection, AttemptResult Result)> ConnectAsync(HttpContext context, Destination destination)
    {
        try
        {
            return (await BackendConnection.ConnectAsync(destination.EndPoint, _time, _activityTimeout, context.RequestAborted).ConfigureAwait(false), AttemptResult.Done);
        }
        catch (SocketException e)
        {
            return (null, AttemptResult.ConnectFailure(e.Message));
        }
        catch (OperationCanceledException)
        {
            // The client left while the router was connecting: nobody to answer, and the connect that
            // was cut short says nothing of the host, so it is reported neither reached nor failed.
            _counters.CountClientGone();
            Log.ClientLeftDuringConnect(_logger, destination.Host.Authority);
            context.Abort();
            return (null, AttemptResult.ClientLeft);
        }
    }

    /// <summary>Sends the request head, skips interim responses, copies the final one; true when the connection can be reused.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private static async ValueTask<bool> ExchangeAsync(HttpContext context, BackendConnection connection, bool isHead)
    {
        var head = connection.Response;
        var consumed = await ResponseBody.ExchangeHeadAsync(connection, isHead).ConfigureAwait(false);
        CopyResponseHead(context, connection, head);
        connection.Consume(consumed);

        var writer = context.Response.BodyWriter;
        var sink = new KestrelResponseSink(writer);
        if (!await ResponseBody.CopyAsync(sink, connection, head).ConfigureAwait(false))
        {
            return false;
        }

        // A response that fits the first read goes out whole when the request ends (one send with the
        // head). Once part of it was flushed, Kestrel drops what is written after the last flush unless it
        // is flushed too: measured here, a 20,000-byte body arrived 3,819 bytes short without this.
        if (context.Response.HasStarted)
        {
            await ResponseBody.FlushAsync(sink, connection).ConfigureAwait(false);
        }

        // Bytes after the response are not an answer to anything: such a backend gets a new connection.
        return head.KeepAlive && connection.Buffered.IsEmpty;
    }

    private static void CopyResponseHead(HttpContext context, BackendConnection connection, ResponseHead head)
    {
        var response = context.Response;
        var headers = response.Headers;
        var bytes = connection.Buffered;
        try
        {
            response.StatusCode = head.StatusCode;
            var reason = head.Reason(bytes);
            if (!reason.IsEmpty && !Ascii.Equals(reason, ReasonPhrases.GetReasonPhrase(head.StatusCode)))
            {
                // A reason phrase of the backend's own passes on, as YARP and HAProxy do (RFC 9112 section 4);
                // the standard one costs nothing, Kestrel writes it anyway.
                context.Features.Get<IHttpResponseFeature>()!.ReasonPhrase = Encoding.Latin1.GetString(reason);
            }

            foreach (var line in head.Headers)
            {
                var (name, value) = connection.HeaderStrings.Get(line.Line(bytes), line.Name(bytes), line.Value(bytes));
                if (line.Folded)
                {
                    // obs-fold: each line break becomes a space (RFC 9112 section 5.2).
                    value = value.Replace('\r', ' ').Replace('\n', ' ');
                }

                headers.Append(name, value);
            }
        }
        catch (InvalidOperationException e)
        {
            // Kestrel refuses what it cannot send, such as non-ASCII bytes in a header value.
            throw new BackendProtocolException($"a response header cannot be forwarded: {e.Message}");
        }

        if (head.ConnectionNamesHeaders)
        {
            RemoveConnectionNamed(headers, head.ConnectionValue(bytes));
        }

        // A 304's Content-Length describes the representation and passes on (RFC 9110 section 8.6); a 204
        // has no content, and its Content-Length is dropped (Kestrel refuses one; HAProxy drops it too).
        if (head.ContentLength >= 0 && head.StatusCode != 204)
        {
            response.ContentLength = head.ContentLength;
        }
    }

    private static void RemoveConnectionNamed(IHeaderDictionary headers, ReadOnlySpan<byte> connection)
    {
        foreach (var range in connection.Split((byte)','))
        {
            var token = connection[range].Trim(" \t"u8);
            if (!token.IsEmpty)
            {
                headers.Remove(System.Text.Encoding.Latin1.GetString(token));
            }
        }
    }

    private static bool IsFailure(Exception e) =>
        e is IOException or SocketException or ObjectDisposedException or BackendProtocolException;

    private void Fail(HttpContext context, BackendConnection connection, Destination destination, Exception e)
    {
        var reason = connection.AbortedBy;
        if (reason == AbortReason.ClientGone)
        {
            _counters.CountClientGone();
            Log.ClientGone(_logger, destination.Host.Authority);
            context.Abort();
            return;
        }

        var failure = Classify(reason, e);
        if (BackendFailures.CounterLabel(failure) is { } label)
        {
            _counters.CountFailure(label);
        }

        Log.BackendFailed(_logger, destination.Host.Authority, BackendFailures.LogReason(failure, e.Message));
        if (context.Response.HasStarted)
        {
            // Part of the response is out: the client must see it cut, not complete.
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = BackendFailures.StatusCode(failure);
    }

    /// <summary>
    /// Why a request failed on a connection: the router's own cut (timeout, host retired) first, as whatever
    /// broke after it is its consequence; then what the backend sent or did. A client that went away is not
    /// the backend's failure and is handled before this is asked.
    /// </summary>
    internal static BackendFailure Classify(AbortReason abortedBy, Exception error) => abortedBy switch
    {
        AbortReason.Timeout => BackendFailure.Timeout,
        AbortReason.Retired => BackendFailure.Retired,
        _ when error is BackendProtocolException => BackendFailure.Protocol,
        _ => BackendFailure.ConnectionBroken,
    };

    /// <summary>The request head as the backend gets it: the client's, less hop-by-hop headers, plus X-Forwarded-* (ForwardingPolicy).</summary>
    private static void WriteRequestHead(HttpContext context, RequestHeadWriter head, Destination destination, bool stripFirstSegment, TrustedProxies trusted)
    {
        var request = context.Request;
        head.Reset();
        head.Append(request.Method);
        head.Append(" "u8);
        ForwardingPolicy.TryGetTarget(context, stripFirstSegment, out var target);
        if (ForwardingPolicy.StripsToRoot(target))
        {
            head.Append("/"u8);
        }

        head.Append(target);
        head.Append(" HTTP/1.1\r\n"u8);
        var host = request.Host;
        head.AppendHeader("Host", host.HasValue ? host.Value : destination.Host.Authority);

        var connection = ConnectionHeader.Of(request);
        foreach (var (name, values) in request.Headers)
        {
            if (!ForwardingPolicy.CopiesRequestHeader(request, name, connection))
            {
                continue;
            }

            foreach (var value in values)
            {
                head.AppendHeader(name, value);
            }
        }

        // The client's address follows what a trusted proxy said; anyone else's list is not kept.
        var forwardedFor = ForwardingPolicy.PriorForwardedFor(context, trusted);
        var client = context.Connection.RemoteIpAddress;
        if (client is not null || forwardedFor.Count != 0)
        {
            head.Append("X-Forwarded-For: "u8);
            var first = true;
            foreach (var value in forwardedFor)
            {
                head.Append(first ? ""u8 : ", "u8);
                head.Append(value);
                first = false;
            }

            if (client is not null)
            {
                head.Append(first ? ""u8 : ", "u8);
                head.Append(client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client);
            }

            head.Append("\r\n"u8);
        }

        head.AppendHeader("X-Forwarded-Proto", ForwardingPolicy.ClientScheme(context, trusted));
        if (host.HasValue)
        {
            head.AppendHeader("X-Forwarded-Host", host.Value);
        }

        head.Append("\r\n"u8);
    }

    internal static BackendPool NewPool() => new();

    private void Sweep()
    {
        foreach (var route in _routes.Current.Routes)
        {
            foreach (var destination in route.Destinations)
            {
                (destination.PoolIfCreated as BackendPool)?.Sweep();
            }
        }
    }

    /// <summary>Shared with <see cref="PlainConnectionHandler"/>: one event id, one message, whichever side forwarded.</summary>
    internal static partial class Log
    {
        [LoggerMessage(EventIds.DirectBackendFailed, LogLevel.Warning, "Forwarding to {Host} failed: {Reason}")]
        public static partial void BackendFailed(ILogger logger, string host, string? reason);

        [LoggerMessage(EventIds.DirectClientGone, LogLevel.Debug, "The client went away or stopped reading while {Host} was answering; the backend connection is closed")]
        public static partial void ClientGone(ILogger logger, string host);

        [LoggerMessage(EventIds.DirectClientLeftDuringConnect, LogLevel.Debug, "The client went away while the router was connecting to {Host}; the connect is dropped and the host counted neither up nor down")]
        public static partial void ClientLeftDuringConnect(ILogger logger, string host);
    }
}
