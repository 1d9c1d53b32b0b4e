using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Router.Metrics;
using Router.Registry.Model;

namespace Router.Routing.Direct;

/// <summary>
/// The shared HTTP port's fast path: plain GET and HEAD requests (<see cref="RequestHead"/>: one Host, no
/// body, no framing or hop-by-hop header to interpret) to a service it can forward are taken at the
/// connection, below Kestrel's HTTP layer: the head is parsed once, written to the backend as it came
/// (less Host and Connection, plus X-Forwarded-*), and the response goes back with its head rewritten and
/// its body copied, over the same pooled backend connections and by the same safety rules as
/// <see cref="DirectForwarder"/>. Anything else, from the first byte that is not plain on, is Kestrel's:
/// the unread bytes are left in the connection's input and the connection goes on through Kestrel for the
/// rest of its life (bad heads answered 400 or 431, bodies, upgrades, redirects, private services, 404s,
/// the health check). Kestrel's HTTP layer was a quarter of the router's CPU per request (docs/benchmarks.md).
/// </summary>
internal sealed class PlainConnectionHandler : IDisposable
{
    /// <summary>Longest head taken here; a longer one goes to Kestrel (64 KiB limit, 431 above it).</summary>
    public const int MaxHeadLength = 16 * 1024;

    private static readonly TimeSpan SweepPeriod = TimeSpan.FromSeconds(1);

    private static readonly byte[] NoHostBody = "no usable host for this service\n"u8.ToArray();

    private readonly RouteTableHolder _routes;
    private readonly InternalNetworks _internalNetworks;
    private readonly RouterMetrics _metrics;
    private readonly DirectPathCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _activityTimeout;
    private readonly long _idleTicks;
    private readonly ConcurrentDictionary<PlainClient, byte> _clients = new();
    private readonly ITimer _sweep;
    private byte[] _dateLine = [];

    public PlainConnectionHandler(RouteTableHolder routes, ForwardingOptions options, HttpServerOptions server, InternalNetworks internalNetworks, RouterMetrics metrics, TimeProvider time, ILogger<PlainConnectionHandler> logger)
    {
        _routes = routes;
        _internalNetworks = internalNetworks;
        _metrics = metrics;
        _counters = metrics.Direct;
        _time = time;
        _logger = logger;
        _activityTimeout = options.BackendTimeout;
        _idleTicks = (long)(server.ClientIdleTimeout.TotalSeconds * time.TimestampFrequency);

        Enabled = options.DirectForwarding && options.ConnectionLevel;
        UpdateDate();
        _sweep = time.CreateTimer(static s => ((PlainConnectionHandler)s!).Sweep(), this, SweepPeriod, SweepPeriod);
    }

    public bool Enabled { get; }

    /// <summary>The connection middleware for the shared HTTP port (before Kestrel's HTTP layer).</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next) => Enabled ? connection => ServeAsync(connection, next) : next;

    public void Dispose() => _sweep.Dispose();

    private async Task ServeAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var client = new PlainClient(connection, _time);
        var input = connection.Transport.Input;
        _clients.TryAdd(client, 0);
        try
        {
            while (true)
            {
                client.Release();
                client.Wait(_time.GetTimestamp() + _idleTicks);
                ReadResult read;
                try
                {
                    read = await input.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException or ConnectionAbortedException)
                {
                    return;
                }

                client.Work();
                var buffer = read.Buffer;
                if (read.IsCanceled || (buffer.IsEmpty && read.IsCompleted))
                {
                    // Idle past --client-idle-timeout, the server stopping, or the client closed between requests.
                    input.AdvanceTo(buffer.End);
                    return;
                }

                if (!TryTake(client, buffer, out var head, out var route, out var strip))
                {
                    // Nothing consumed, nothing examined: Kestrel reads this request from its first byte.
                    input.AdvanceTo(buffer.Start);
                    _clients.TryRemove(client, out _);
                    client.Release();
                    await next(connection).ConfigureAwait(false);
                    return;
                }

                input.AdvanceTo(buffer.GetPosition(head.Length));
                _counters.CountConnectionLevel();
                if (!await ForwardAsync(client, head, route, strip).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        finally
        {
            _clients.TryRemove(client, out _);
            client.Release();
        }
    }

    /// <summary>Whether the buffered bytes start with a whole plain head for a service this path forwards.</summary>
    private bool TryTake(PlainClient client, in ReadOnlySequence<byte> buffer, out PlainHead head, out ServiceRoute route, out bool strip)
    {
        (route, strip) = (null!, false);

        // Most heads lie in the first segment; one across segments (pipelined requests, a large head) is
        // copied out whole first. A verdict on a prefix is final unless it is Incomplete (RequestHead).
        var bytes = buffer.FirstSpan;
        var verdict = RequestHead.Parse(bytes, MaxHeadLength, out head);
        if (verdict == HeadVerdict.Incomplete && !buffer.IsSingleSegment)
        {
            bytes = client.CopyHead(buffer.Slice(0, Math.Min(buffer.Length, MaxHeadLength)));
            verdict = RequestHead.Parse(bytes, MaxHeadLength, out head);
        }

        // Incomplete too: a head split over reads is rare (most clients send it in one write), and Kestrel
        // then applies its own head timeout while the rest comes.
        if (verdict != HeadVerdict.Plain)
        {
            return false;
        }

        var host = client.Chars(bytes.Slice(head.HostStart, head.HostLength), 0);
        var path = client.Chars(bytes.Slice(head.TargetStart, head.PathLength), host.Length);
        var match = RouteMatcher.Match(_routes.Current, host, path);
        if (match.Route is not { } found || found.Entry.Scheme is not (ServiceScheme.Http or ServiceScheme.HttpAndHttps)
            || _internalNetworks.ShutsOut(found.Entry, client.Remote))
        {
            // Not found, the health check, an https redirect, a private service: Kestrel's answers.
            return false;
        }

        (route, strip) = (found, match.Kind == MatchKind.Path && found.Entry.StripPath);
        client.CopyHead(bytes[..head.Length]);
        return true;
    }

    /// <summary>Forwards one request, trying the route's hosts in turn on a connect failure; false when the client connection ends.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<bool> ForwardAsync(PlainClient client, PlainHead head, ServiceRoute route, bool strip)
    {
        var started = _time.GetTimestamp();
        client.BeginResponse();
        var outcome = Outcome.NoHost;
        var walk = new DestinationWalk(route, ProxyHandler.MaxAttempts);
        while (walk.TryNext(_time.GetTimestamp(), out var destination))
        {
            outcome = await ForwardToAsync(client, head, destination, strip).ConfigureAwait(false);
            if (outcome.Kind != OutcomeKind.ConnectFailed)
            {
                if (outcome.Kind != OutcomeKind.ClientLeft)
                {
                    ProxyHandler.Reached(_logger, route, destination);
                }

                break;
            }

            ProxyHandler.ConnectFailed(_logger, _time, route, destination, outcome.Reason);
            outcome = Outcome.NoHost;
        }

        var keep = outcome.Kind switch
        {
            OutcomeKind.Answered => !head.Close && !client.CloseRequested,
            OutcomeKind.Failed => await AnswerAsync(client, head, outcome.Status, ReferenceEquals(outcome, Outcome.NoHost) ? NoHostBody : []).ConfigureAwait(false),
            _ => false,
        };

        if (outcome.Kind is OutcomeKind.Gone or OutcomeKind.ClientLeft)
        {
            // The client went away, or its response was cut part way: nothing more can be said.
            client.Connection.Abort();
        }

        _metrics.For(route.Name).Record(head.IsHead ? "HEAD" : "GET", client.Status, _time.GetElapsedTime(started));
        return keep;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<Outcome> ForwardToAsync(PlainClient client, PlainHead head, Destination destination, bool strip)
    {
        var pool = (BackendPool)destination.Pool(DirectForwarder.NewPool);
        var connection = pool.Rent();
        var reused = connection is not null;
        if (connection is null)
        {
            (connection, var failed) = await ConnectAsync(client, destination).ConfigureAwait(false);
            if (connection is null)
            {
                return failed;
            }
        }

        _counters.CountForwarded();
        while (true)
        {
            WriteRequestHead(client, head, connection.Head, strip);
            var gone = client.Connection.ConnectionClosed.UnsafeRegister(static s => ((BackendConnection)s!).Abort(AbortReason.ClientGone), connection);
            var retired = destination.Retired.UnsafeRegister(static s => ((BackendConnection)s!).Abort(AbortReason.Retired), connection);
            var reuse = false;
            try
            {
                reuse = await ExchangeAsync(client, connection, head).ConfigureAwait(false);
                return Outcome.Answered;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or BackendProtocolException)
            {
                if (reused && !connection.ReceivedAny && connection.AbortedBy == AbortReason.None && e is not BackendProtocolException)
                {
                    // A kept-alive connection the backend closed as the request went out: GET and HEAD are
                    // idempotent, so the request goes again on a new connection (RFC 9110 section 9.2.2).
                    _counters.CountStaleRetry();
                }
                else
                {
                    return Fail(client, connection, destination, e);
                }
            }
            finally
            {
                gone.Unregister();
                retired.Unregister();
                pool.Release(connection, reuse);
            }

            (connection, var failure) = await ConnectAsync(client, destination).ConfigureAwait(false);
            if (connection is null)
            {
                return failure;
            }

            reused = false;
        }
    }

    private async ValueTask<(BackendConnection? Connection, Outcome Failure)> ConnectAsync(PlainClient client, Destination destination)
    {
        try
        {
            return (await BackendConnection.ConnectAsync(destination.EndPoint, _time, _activityTimeout, client.Connection.ConnectionClosed).ConfigureAwait(false), Outcome.Answered);
        }
        catch (SocketException e)
        {
            return (null, Outcome.ConnectFailed(e.Message));
        }
        catch (OperationCanceledException)
        {
            // The client left while the router was connecting: nobody to answer, and the host neither
            // reached nor failed.
            _counters.CountClientGone();
            DirectForwarder.Log.ClientLeftDuringConnect(_logger, destination.Host.Authority);
            return (null, Outcome.ClientLeft);
        }
    }

    /// <summary>Sends the head, skips interim responses, relays the final one; true when the backend connection can be reused.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskBuilder<>))]
    private async ValueTask<bool> ExchangeAsync(PlainClient client, BackendConnection connection, PlainHead head)
    {
        var response = connection.Response;
        var consumed = await ResponseBody.ExchangeHeadAsync(connection, head.IsHead).ConfigureAwait(false);
        StageResponseHead(client, connection, response, close: head.Close || client.CloseRequested);
        connection.Consume(consumed);

        var sink = new PlainResponseSink(client);
        var ended = await ResponseBody.CopyAsync(sink, connection, response).ConfigureAwait(false);
        if (client.Chunked)
        {
            WriteLastChunk(client);
        }

        if (!await client.FlushAsync().ConfigureAwait(false))
        {
            connection.Abort(AbortReason.ClientGone);
            throw new IOException("the client went away");
        }

        // Bytes after the response are not an answer to anything: such a backend gets a new connection.
        return ended && response.KeepAlive && connection.Buffered.IsEmpty;
    }

    private static void WriteLastChunk(PlainClient client)
    {
        client.Chunked = false;
        client.WriteBody("0\r\n\r\n"u8);
    }

    /// <summary>
    /// The response head as the client gets it: the backend's status and reason, its headers less the
    /// hop-by-hop ones (<see cref="ResponseHead"/> leaves them out) and those its Connection header names,
    /// the framing the router sends the body with, Date when the backend sent none (Kestrel's rule on the
    /// other path), and Connection: close when this is the connection's last response.
    /// </summary>
    private void StageResponseHead(PlainClient client, BackendConnection connection, ResponseHead response, bool close)
    {
        var bytes = connection.Buffered;
        var head = client.Staged;
        var reason = response.Reason(bytes);
        client.StageStatusLine(response.StatusCode, reason.IsEmpty ? Encoding.ASCII.GetBytes(ReasonPhrases.GetReasonPhrase(response.StatusCode)) : reason);
        var connectionNames = response.ConnectionNamesHeaders ? response.ConnectionValue(bytes) : [];
        var date = false;
        foreach (var line in response.Headers)
        {
            var name = line.Name(bytes);
            if (!connectionNames.IsEmpty && Names(connectionNames, name))
            {
                continue;
            }

            date |= Ascii.EqualsIgnoreCase(name, "Date"u8);
            head.Append(name);
            head.Append(": "u8);
            var value = line.Value(bytes);
            if (line.Folded)
            {
                // obs-fold: each line break becomes a space (RFC 9112 section 5.2).
                foreach (var b in value)
                {
                    head.Append(b is (byte)'\r' or (byte)'\n' ? " "u8 : [b]);
                }
            }
            else
            {
                head.Append(value);
            }

            head.Append("\r\n"u8);
        }

        // A 304's Content-Length describes the representation and passes on (RFC 9110 section 8.6); a 204
        // has no content, and its Content-Length is dropped (as on the other path, and HAProxy).
        if (response.ContentLength >= 0 && response.StatusCode != 204)
        {
            head.Append("Content-Length: "u8);
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(response.ContentLength, digits, out var written);
            head.Append(digits[..written]);
            head.Append("\r\n"u8);
        }
        else if (response.Framing is BodyFraming.Chunked or BodyFraming.UntilClose)
        {
            head.Append("Transfer-Encoding: chunked\r\n"u8);
            client.Chunked = true;
        }

        FinishHead(head, date, close);
    }

    private void FinishHead(RequestHeadWriter head, bool hasDate, bool close)
    {
        if (!hasDate)
        {
            head.Append(Volatile.Read(ref _dateLine));
        }

        if (close)
        {
            head.Append("Connection: close\r\n"u8);
        }

        head.Append("\r\n"u8);
    }

    /// <summary>
    /// The router's own answer when no response was started: the failure's status with an empty body, as on
    /// the other path (the connect failures' answer says so in a line). False when the connection ends.
    /// </summary>
    private async ValueTask<bool> AnswerAsync(PlainClient client, PlainHead head, int status, byte[] body)
    {
        var close = head.Close || client.CloseRequested;
        client.BeginResponse();
        client.StageStatusLine(status, Encoding.ASCII.GetBytes(ReasonPhrases.GetReasonPhrase(status)));
        var staged = client.Staged;
        if (body.Length != 0)
        {
            staged.Append("Content-Type: text/plain; charset=utf-8\r\n"u8);
        }

        staged.Append("Content-Length: "u8);
        staged.Append(body.Length.ToString(CultureInfo.InvariantCulture));
        staged.Append("\r\n"u8);
        FinishHead(staged, hasDate: false, close);
        if (!head.IsHead)
        {
            client.WriteBody(body);
        }

        return await client.FlushAsync().ConfigureAwait(false) && !close;
    }

    private Outcome Fail(PlainClient client, BackendConnection connection, Destination destination, Exception e)
    {
        var reason = connection.AbortedBy;
        if (reason == AbortReason.ClientGone)
        {
            _counters.CountClientGone();
            DirectForwarder.Log.ClientGone(_logger, destination.Host.Authority);
            return Outcome.Gone;
        }

        var failure = DirectForwarder.Classify(reason, e);
        if (BackendFailures.CounterLabel(failure) is { } label)
        {
            _counters.CountFailure(label);
        }

        DirectForwarder.Log.BackendFailed(_logger, destination.Host.Authority, BackendFailures.LogReason(failure, e.Message));

        // Part of the response is out: the client must see it cut, not complete.
        return client.Started ? Outcome.Gone : Outcome.Failed(BackendFailures.StatusCode(failure));
    }

    /// <summary>Whether a Connection header value names <paramref name="name"/> (comma-separated tokens, any case).</summary>
    private static bool Names(ReadOnlySpan<byte> connection, ReadOnlySpan<byte> name)
    {
        foreach (var range in connection.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(connection[range].Trim(" \t"u8), name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The request head as the backend gets it: the client's request line (less the first path segment for
    /// a path route) and header lines as they came, less Host and Connection (<see cref="RequestHead"/> lets
    /// no other hop-by-hop header through), then Host and the X-Forwarded-* set of the other path
    /// (<see cref="ForwardingPolicy"/>: no X-Forwarded-* came, so the list is the client's address alone).
    /// </summary>
    private static void WriteRequestHead(PlainClient client, PlainHead head, RequestHeadWriter writer, bool strip)
    {
        var bytes = client.Head[..head.Length];
        var target = bytes.Slice(head.TargetStart, head.TargetLength);
        var host = bytes.Slice(head.HostStart, head.HostLength);
        writer.Reset();
        writer.Append(head.IsHead ? "HEAD "u8 : "GET "u8);
        if (strip)
        {
            target = StripFirstSegment(target, head.PathLength);
            if (target.IsEmpty || target[0] == '?')
            {
                writer.Append("/"u8);
            }
        }

        writer.Append(target);
        writer.Append(" HTTP/1.1\r\nHost: "u8);
        writer.Append(host);
        writer.Append("\r\n"u8);

        var lines = bytes[head.HeadersStart..^2];
        while (!lines.IsEmpty)
        {
            var end = lines.IndexOf("\r\n"u8);
            var line = lines[..end];
            lines = lines[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            var name = line[..colon];
            if (Ascii.EqualsIgnoreCase(name, "Host"u8) || Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                continue;
            }

            writer.Append(name);
            writer.Append(": "u8);
            writer.Append(line[(colon + 1)..].Trim(" \t"u8));
            writer.Append("\r\n"u8);
        }

        writer.Append("X-Forwarded-For: "u8);
        if (client.Remote is { } remote)
        {
            writer.Append(remote);
        }

        writer.Append("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: "u8);
        writer.Append(host);
        writer.Append("\r\n\r\n"u8);
    }

    /// <summary>
    /// <c>/web/a?q</c> → <c>a?q</c>, <c>/web?q</c> → <c>?q</c>, <c>/web</c> → empty: the target after its first
    /// segment and that segment's slash, as <see cref="ForwardingPolicy.TryGetTarget"/> strips it (the caller
    /// writes the leading "/" when nothing or only the query is left).
    /// </summary>
    internal static ReadOnlySpan<byte> StripFirstSegment(ReadOnlySpan<byte> target, int pathLength)
    {
        var path = target[..pathLength];
        var next = path.Length > 1 ? path[1..].IndexOf((byte)'/') : -1;
        return next >= 0 ? target[(next + 1)..] : target[pathLength..];
    }

    private void UpdateDate() =>
        Volatile.Write(ref _dateLine, Encoding.ASCII.GetBytes("Date: " + _time.GetUtcNow().ToString("r", CultureInfo.InvariantCulture) + "\r\n"));

    /// <summary>Once a second: the Date line, and the deadlines of connections waiting on their client.</summary>
    private void Sweep()
    {
        UpdateDate();
        var now = _time.GetTimestamp();
        foreach (var (client, _) in _clients)
        {
            switch (client.Phase)
            {
                case PlainClientPhase.Waiting when now > client.Deadline || client.CloseRequested:
                    // Idle too long, or the server is stopping: the pending read returns canceled and the
                    // connection closes between requests, as Kestrel closes its own.
                    client.Connection.Transport.Input.CancelPendingRead();
                    break;
                case PlainClientPhase.Flushing when now > client.Deadline:
                    client.Connection.Abort(new ConnectionAbortedException("the client did not read the response in time"));
                    break;
            }
        }
    }

    private enum OutcomeKind
    {
        /// <summary>The backend's response went to the client.</summary>
        Answered,

        /// <summary>No response was started: the router answers with the status.</summary>
        Failed,

        /// <summary>The client went away, or its response was cut: the connection is closed.</summary>
        Gone,

        /// <summary>Nothing reached this host: the next one is tried.</summary>
        ConnectFailed,

        /// <summary>The client left while the router was connecting: the connection is closed, and the host counts neither way.</summary>
        ClientLeft,
    }

    /// <summary>How one forwarding attempt ended.</summary>
    private sealed record Outcome(OutcomeKind Kind, int Status = 0, string? Reason = null)
    {
        public static readonly Outcome Answered = new(OutcomeKind.Answered);

        public static readonly Outcome Gone = new(OutcomeKind.Gone);

        public static readonly Outcome ClientLeft = new(OutcomeKind.ClientLeft);

        /// <summary>Every host failed to connect, or none was usable.</summary>
        public static readonly Outcome NoHost = new(OutcomeKind.Failed, BackendFailures.StatusCode(BackendFailure.ConnectFailed));

        public static Outcome Failed(int status) => new(OutcomeKind.Failed, status);

        public static Outcome ConnectFailed(string reason) => new(OutcomeKind.ConnectFailed, Reason: reason);
    }
}
