using Grpc.Core;

namespace Router.Registry.Etcd;

/// <summary>Which exceptions mean "etcd is not reachable right now" (retry with backoff) rather than a bug.</summary>
public static class EtcdFailure
{
    public static bool IsTransient(Exception e) => e switch
    {
        RpcException or IOException or HttpRequestException or TimeoutException => true,
        // Writing to a keepalive stream the server already closed.
        InvalidOperationException when e.Message.Contains("call is complete", StringComparison.OrdinalIgnoreCase) => true,
        _ => false,
    };

    /// <summary>etcd's answer to a put or keepalive on a lease it does not know (expired, revoked, lost with its data).</summary>
    public static bool IsLeaseNotFound(Exception e) =>
        e is RpcException { StatusCode: StatusCode.NotFound } r
        && r.Status.Detail.Contains("lease not found", StringComparison.OrdinalIgnoreCase);

    public static string Describe(Exception e) => e switch
    {
        RpcException r => $"{r.StatusCode}: {r.Status.Detail}",
        _ => e.Message,
    };
}
