using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Router.Routing;

/// <summary>
/// The rules both forwarding paths (direct and YARP) apply alike: the request target, the X-Forwarded-*
/// headers and whom to believe about them, the headers a Connection header takes out of a message
/// (<see cref="ConnectionHeader"/>; the fixed hop-by-hop set is <see cref="HopByHopHeaders"/>), and what may
/// be sent twice. The paths only write what these decide, each in its own form.
/// </summary>
internal static class ForwardingPolicy
{
    /// <summary>
    /// Whether a request that may already have reached a backend can be sent again: only the idempotent
    /// methods (RFC 9110 section 9.2.2). A POST, PATCH or any other method is answered 502 instead, so that
    /// nothing runs twice; a connect failure (nothing was written) fails over for every method.
    /// </summary>
    public static bool MaySendAgain(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method)
        || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);

    /// <summary>
    /// The request target as the backend gets it, byte for byte as the client sent it (percent-encodings
    /// such as <c>%2F</c> untouched, as HAProxy and nginx pass them), less the first path segment with
    /// <paramref name="stripFirstSegment"/>; <c>*</c> for <c>OPTIONS *</c> (RFC 9112 section 3.2.4); the path
    /// and query of an absolute-form target (RFC 9112 section 3.2.2). False when the target holds dot
    /// segments (<c>/a/../b</c>, also escaped as <c>%2e</c>): Kestrel resolved them before the route was
    /// chosen, so the backend must get the resolved path, not the raw one.
    /// </summary>
    public static bool TryGetTarget(HttpContext context, bool stripFirstSegment, out ReadOnlySpan<char> target)
    {
        target = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (target.IsEmpty)
        {
            return false;
        }

        if (target[0] != '/')
        {
            if (target is "*")
            {
                return HttpMethods.IsOptions(context.Request.Method) && !stripFirstSegment;
            }

            // Absolute form: scheme "://" authority, then the path (which may be empty: "/" then).
            var authority = target.IndexOf("://", StringComparison.Ordinal);
            if (authority < 0)
            {
                return false;
            }

            var rest = target[(authority + 3)..];
            var start = rest.IndexOfAny('/', '?');
            if (start < 0 || rest[start] != '/')
            {
                // "http://host" or "http://host?q": no path; such a target is rare enough to take the long way.
                return false;
            }

            target = rest[start..];
        }

        var query = target.IndexOf('?');
        var path = query < 0 ? target : target[..query];
        if (path.Contains("/.", StringComparison.Ordinal) || path.Contains("%2e", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (stripFirstSegment)
        {
            // "/web/a?q" → "/a?q"; "/web?q" → "?q", which the caller writes after "/" (see StripsToRoot).
            var next = path.Length > 1 ? path[1..].IndexOf('/') : -1;
            target = next < 0 ? (query < 0 ? [] : target[query..]) : target[(next + 1)..];
        }

        return true;
    }

    /// <summary>Whether a target from <see cref="TryGetTarget"/> needs a "/" before it (stripping left no path).</summary>
    public static bool StripsToRoot(ReadOnlySpan<char> target) => target.IsEmpty || target[0] == '?';

    /// <summary>
    /// The scheme the client used: the connection's own, or, from a trusted proxy (--trusted-proxies), what
    /// its single X-Forwarded-Proto value says when that is <c>http</c> or <c>https</c>. A TLS-terminating load
    /// balancer forwards plain HTTP with <c>X-Forwarded-Proto: https</c>; from anyone else the header is
    /// ignored, so a client cannot claim a scheme it did not use. The https redirect asks this.
    /// </summary>
    public static string ClientScheme(HttpContext context, TrustedProxies trusted)
    {
        var request = context.Request;
        if (!trusted.IsEmpty && trusted.Contains(context.Connection.RemoteIpAddress)
            && request.Headers["X-Forwarded-Proto"] is { Count: 1 } proto)
        {
            var value = proto.ToString().AsSpan().Trim(" \t");
            if (value.Equals("https", StringComparison.OrdinalIgnoreCase))
            {
                return "https";
            }

            if (value.Equals("http", StringComparison.OrdinalIgnoreCase))
            {
                return "http";
            }
        }

        return request.Scheme;
    }

    /// <summary>
    /// The X-Forwarded-For values to keep before the client's address: a trusted proxy's list is extended
    /// (the proxy's own address is appended after it); anyone else's is dropped, so the backend's first
    /// entry is always one the router or a trusted proxy wrote, never one a client made up.
    /// </summary>
    public static StringValues PriorForwardedFor(HttpContext context, TrustedProxies trusted) =>
        !trusted.IsEmpty && trusted.Contains(context.Connection.RemoteIpAddress)
            ? context.Request.Headers["X-Forwarded-For"]
            : StringValues.Empty;

    /// <summary>
    /// Whether a request header goes on as it came: not hop-by-hop (<see cref="HopByHopHeaders"/>), not one
    /// the router writes itself, not named by the request's Connection header (<paramref name="connection"/>
    /// from <see cref="ConnectionHeader.Of"/>), and not the Content-Length of a request that also came with
    /// Transfer-Encoding: Kestrel keeps that one as <c>X-Content-Length</c>, and a proxy must not pass it on
    /// (RFC 9112 section 6.1; HAProxy drops it too).
    /// </summary>
    public static bool CopiesRequestHeader(HttpRequest request, string name, StringValues connection) =>
        !HopByHopHeaders.IsNotCopiedFromRequest(name)
        && (connection.Count == 0 || !ConnectionHeader.Names(connection, name))
        && !(string.Equals(name, "X-Content-Length", StringComparison.OrdinalIgnoreCase) && request.Headers.TransferEncoding.Count != 0);
}
