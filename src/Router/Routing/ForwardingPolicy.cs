using Microsoft.AspNetCore.Http;

namespace Router.Routing;

/// <summary>The rules both forwarding paths (direct and YARP) apply alike: what may be sent twice.</summary>
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
}
