namespace Router.Routing;

/// <summary>
/// Why forwarding a request to a backend host failed, on either HTTP forwarding path: one name for each failure
/// the router tells apart, as Kestrel's <c>RequestRejectionReason</c> names each way a request is refused.
/// <see cref="BackendFailures"/> is the one place that turns a reason into the client's status, the
/// <c>router_direct_backend_errors_total</c> label and the words of the log line. The client going away is
/// not here: that is the client's failure, counted in <c>router_direct_client_aborts_total</c>.
/// </summary>
/// <remarks>Declared in the order <c>/metrics</c> lists the counted ones.</remarks>
internal enum BackendFailure
{
    /// <summary>Nothing reached the host (refused, unreachable, no accept within the connect timeout): the request may go to another host.</summary>
    ConnectFailed,

    /// <summary>The host's response cannot be read or forwarded: a malformed head, a header Kestrel cannot send, a bad chunk.</summary>
    Protocol,

    /// <summary>The connection closed or broke under the request before the response was complete.</summary>
    ConnectionBroken,

    /// <summary>The host stayed silent longer than <c>--backend-timeout</c> (waiting for the head, or between body reads).</summary>
    Timeout,

    /// <summary>The host left the route (a registry change) while the request was on it, and its connection was closed.</summary>
    Retired,
}
