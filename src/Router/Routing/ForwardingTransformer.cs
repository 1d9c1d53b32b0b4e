using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Router.Routing;

/// <summary>
/// YARP's side of <see cref="ForwardingPolicy"/>, so that it sends and answers what the direct path does:
/// the client's Host header kept (as HAProxy does), X-Forwarded-*, the hop-by-hop set and the headers
/// named in Connection removed both ways, and the request target as the client sent it (percent-encodings
/// untouched; with strip_path, less the first segment).
/// </summary>
internal sealed class ForwardingTransformer : HttpTransformer
{
    // The target is used as given: no unescaping of %2F or %7E, no re-escaping of '%' (YARP would otherwise
    // rebuild it from Kestrel's decoded path, and %2F reached the backend as %252F).
    private static readonly UriCreationOptions AsGiven = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly bool _stripFirstSegment;
    private readonly TrustedProxies _trusted;

    public ForwardingTransformer(bool stripFirstSegment, TrustedProxies trusted)
    {
        _stripFirstSegment = stripFirstSegment;
        _trusted = trusted;
    }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);

        var request = httpContext.Request;
        var headers = proxyRequest.Headers;
        var connection = ConnectionHeader.Of(request);
        foreach (var (name, values) in request.Headers)
        {
            if (name.StartsWith(':'))
            {
                continue;
            }

            // YARP copied what its own list allows; the policy's decides (YARP also drops end-to-end headers
            // such as Upgrade-Insecure-Requests, which go back in).
            if (!ForwardingPolicy.CopiesRequestHeader(request, name, connection))
            {
                Remove(proxyRequest, name);
            }
            else if (!headers.NonValidated.Contains(name) && proxyRequest.Content?.Headers.NonValidated.Contains(name) != true)
            {
                headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        if (request.Host.HasValue)
        {
            headers.Host = request.Host.Value;
        }

        headers.Remove("X-Forwarded-For");
        var forwardedFor = ForwardingPolicy.PriorForwardedFor(httpContext, _trusted);
        var client = httpContext.Connection.RemoteIpAddress;
        if (client is not null)
        {
            var address = (client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client).ToString();
            forwardedFor = forwardedFor.Count == 0 ? address : string.Join(", ", [.. forwardedFor, address]);
        }

        if (forwardedFor.Count != 0)
        {
            headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor.ToString());
        }

        Set(headers, "X-Forwarded-Proto", ForwardingPolicy.ClientScheme(httpContext, _trusted));
        if (request.Host.HasValue)
        {
            Set(headers, "X-Forwarded-Host", request.Host.Value);
        }

        if (ForwardingPolicy.TryGetTarget(httpContext, _stripFirstSegment, out var target) && target is not "*")
        {
            var prefix = destinationPrefix.AsSpan().TrimEnd('/');
            var slash = ForwardingPolicy.StripsToRoot(target) ? "/" : "";
            proxyRequest.RequestUri = new Uri(string.Concat(prefix, slash, target), in AsGiven);
        }
        else if (_stripFirstSegment)
        {
            // Dot segments (or a target the policy leaves to YARP): the resolved path, less the first segment.
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
            var headers = httpContext.Response.Headers;
            foreach (var name in HopByHopHeaders.Names)
            {
                headers.Remove(name);
            }

            // The backend's Connection header names fields for its hop only (RFC 9110 section 7.6.1).
            foreach (var token in proxyResponse.Headers.Connection)
            {
                headers.Remove(token);
            }

            if (httpContext.Response.StatusCode == StatusCodes.Status204NoContent)
            {
                // A 204 has no content (RFC 9110 section 15.3.5): Kestrel refuses a Content-Length on it (a
                // 500 before), HAProxy and the direct path drop it.
                headers.ContentLength = null;
            }
        }

        return copied;
    }

    /// <summary>Removes a header wherever HttpClient keeps it (it throws for a name asked of the wrong collection).</summary>
    private static void Remove(HttpRequestMessage request, string name)
    {
        if (IsContentHeader(name))
        {
            request.Content?.Headers.Remove(name);
        }
        else
        {
            request.Headers.Remove(name);
        }
    }

    // HttpClient's content headers (System.Net.Http KnownHeaders, HttpHeaderType.Content).
    private static bool IsContentHeader(string name) =>
        name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "Allow", StringComparison.OrdinalIgnoreCase)
        || string.Equals(name, "Expires", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "Last-Modified", StringComparison.OrdinalIgnoreCase);

    private static void Set(HttpRequestHeaders headers, string name, string value)
    {
        if (headers.NonValidated.Contains(name))
        {
            headers.Remove(name);
        }

        headers.TryAddWithoutValidation(name, value);
    }
}
