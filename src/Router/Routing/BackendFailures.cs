using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Router.Routing;

/// <summary>
/// What each <see cref="BackendFailure"/> means to the client, to <c>/metrics</c> and to the log: the one
/// mapping both forwarding paths use (BackendFailuresTests checks that every reason has its entry).
/// </summary>
internal static class BackendFailures
{
    /// <summary>The counted reasons, in the order <c>/metrics</c> lists them.</summary>
    public static readonly IReadOnlyList<BackendFailure> Counted =
        [.. Enum.GetValues<BackendFailure>().Where(failure => CounterLabel(failure) is not null)];

    /// <summary>The status the client gets when the failure happens before any of the response went out.</summary>
    public static int StatusCode(BackendFailure failure) => failure switch
    {
        // Only once every host tried failed to connect: "no usable host for this service".
        BackendFailure.ConnectFailed => StatusCodes.Status503ServiceUnavailable,

        // RFC 9110 section 15.6.5: no timely response from the upstream.
        BackendFailure.Timeout => StatusCodes.Status504GatewayTimeout,

        // RFC 9110 section 15.6.3: an invalid response, or none, from the upstream.
        BackendFailure.Protocol or BackendFailure.ConnectionBroken or BackendFailure.Retired => StatusCodes.Status502BadGateway,
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, null),
    };

    /// <summary>
    /// The <c>reason</c> label of <c>router_direct_backend_errors_total</c>; null for a failure not counted there:
    /// a connect failure shows in <c>router_service_server_up</c> and <c>/status</c>, and a retired host was
    /// taken away by the registry, not failed by the backend.
    /// </summary>
    public static string? CounterLabel(BackendFailure failure) => failure switch
    {
        BackendFailure.Protocol => "protocol",
        BackendFailure.ConnectionBroken => "connection",
        BackendFailure.Timeout => "timeout",
        BackendFailure.ConnectFailed or BackendFailure.Retired => null,
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, null),
    };

    /// <summary>
    /// The reason the log line gives: the error's own words where they say more than the name (which
    /// connect error, what in the response was malformed), the name where the router cut the connection itself.
    /// </summary>
    public static string LogReason(BackendFailure failure, string detail) => failure switch
    {
        BackendFailure.Timeout => "Timeout",
        BackendFailure.Retired => "Retired",
        BackendFailure.ConnectFailed or BackendFailure.Protocol or BackendFailure.ConnectionBroken => detail,
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, null),
    };

    /// <summary>
    /// YARP's error as a backend failure, for the errors of the request phase (connect, send the head, wait for
    /// the response head), which YARP answers 502 or 504 itself; null for the rest (the client's side, the
    /// bodies, upgrades), which YARP handles alone. Only <see cref="BackendFailure.ConnectFailed"/> changes what
    /// the router does: nothing reached the host, so the request may go to another.
    /// </summary>
    public static BackendFailure? FromYarp(ForwarderError error, Exception? exception) => error switch
    {
        ForwarderError.Request when IsConnectError(exception) => BackendFailure.ConnectFailed,
        ForwarderError.Request => BackendFailure.ConnectionBroken,
        ForwarderError.RequestTimedOut => BackendFailure.Timeout,
        _ => null,
    };

    private static bool IsConnectError(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError })
            {
                return true;
            }
        }

        return false;
    }
}
