using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;


namespace Router.Routing;

/// <summary>
/// Where a plain request to an <c>https</c>-only service is sent (DESIGN "https"): to this router's HTTPS
/// port, with the port in the URL unless it is 443; 301 for GET and HEAD, 308 for other methods, so a
/// POST stays a POST with its body (RFC 9110 §15.4.2 lets a client turn a 301 POST into a GET; §15.4.9
/// does not). ACME HTTP-01 challenges are answered over plain HTTP by design (RFC 8555 §8.3), so they are
/// never redirected. Without HTTPS on this router there is nowhere to send the client: see <see cref="Location"/>.
/// </summary>
internal sealed class HttpsRedirect(IPEndPoint? https)
{
    public const string AcmeChallengePrefix = "/.well-known/acme-challenge";

    /// <summary>False when this router serves no HTTPS (<c>--https</c> not set).</summary>
    public bool HttpsServed => https is not null;

    /// <summary>
    /// Whether the request already came over HTTPS. The one place that decides it: a TLS connection to this
    /// router, or a trusted proxy's (--trusted-proxies) X-Forwarded-Proto: https — a TLS-terminating load
    /// balancer in front of port 80 must not get a redirect to where its client already is.
    /// </summary>
    public static bool ArrivedOverHttps(HttpContext context, TrustedProxies trusted) =>
        ForwardingPolicy.ClientScheme(context, trusted) == "https";

    /// <summary>A request that stays on plain HTTP even for an https-only service.</summary>
    public static bool IsExempt(PathString path) => path.StartsWithSegments(AcmeChallengePrefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>301 for GET and HEAD, 308 for every other method (which must be repeated as it was).</summary>
    public static int StatusFor(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? StatusCodes.Status301MovedPermanently : StatusCodes.Status308PermanentRedirect;

    /// <summary>The https URL of <paramref name="request"/> on this router's HTTPS port; null when no HTTPS is served or the request names no host.</summary>
    public string? Location(HttpRequest request)
    {
        if (https is null || string.IsNullOrEmpty(request.Host.Host))
        {
            return null;
        }

        // The host the client asked for (an HTTP/1.0 request without Host has no URL to give back).
        var host = https.Port == 443 ? new HostString(request.Host.Host) : new HostString(request.Host.Host, https.Port);
        return UriHelper.BuildAbsolute("https", host, request.PathBase, request.Path, request.QueryString);
    }
}
