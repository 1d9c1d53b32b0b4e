using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Router.Routing;

/// <summary>
/// Request transform for every forwarded request: keep the client's Host header (as HAProxy does), append
/// the client to <c>X-Forwarded-For</c>, set <c>X-Forwarded-Proto</c>/<c>-Host</c>, and for path-routed
/// services with strip_path drop the first path segment.
/// </summary>
internal sealed class ForwardingTransformer : HttpTransformer
{
    public static readonly ForwardingTransformer Keep = new(stripFirstSegment: false);
    public static readonly ForwardingTransformer Strip = new(stripFirstSegment: true);

    private readonly bool _stripFirstSegment;

    private ForwardingTransformer(bool stripFirstSegment)
    {
        _stripFirstSegment = stripFirstSegment;
    }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);

        var request = httpContext.Request;
        if (request.Host.HasValue)
        {
            proxyRequest.Headers.Host = request.Host.Value;
        }

        var headers = proxyRequest.Headers;
        var client = httpContext.Connection.RemoteIpAddress;
        if (client is not null)
        {
            if (client.IsIPv4MappedToIPv6)
            {
                client = client.MapToIPv4();
            }

            // The common case (no proxy before us) adds one header; only a chain appends to what came.
            if (headers.NonValidated.TryGetValues("X-Forwarded-For", out var existing))
            {
                var forwardedFor = existing.ToString() + ", " + client;
                headers.Remove("X-Forwarded-For");
                headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
            }
            else
            {
                headers.TryAddWithoutValidation("X-Forwarded-For", client.ToString());
            }
        }

        Set(headers, "X-Forwarded-Proto", request.Scheme);
        if (request.Host.HasValue)
        {
            Set(headers, "X-Forwarded-Host", request.Host.Value);
        }

        // Fields the client's Connection header names are hop-by-hop too (RFC 9110 section 7.6.1).
        foreach (var value in request.Headers.Connection)
        {
            foreach (var token in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                headers.Remove(token);
            }
        }

        if (_stripFirstSegment)
        {
            var path = request.Path.Value ?? "/";
            var next = path.IndexOf('/', 1);
            var rest = next < 0 ? "/" : path[next..];
            proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, new PathString(rest), request.QueryString);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var copied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        if (proxyResponse is not null)
        {
            // The backend's Connection header names fields for its hop only (RFC 9110 section 7.6.1).
            foreach (var token in proxyResponse.Headers.Connection)
            {
                httpContext.Response.Headers.Remove(token);
            }
        }

        return copied;
    }

    private static void Set(HttpRequestHeaders headers, string name, string value)
    {
        if (headers.NonValidated.Contains(name))
        {
            headers.Remove(name);
        }

        headers.TryAddWithoutValidation(name, value);
    }
}
