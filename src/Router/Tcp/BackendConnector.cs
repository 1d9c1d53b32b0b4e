using System.Net.Sockets;
using Router.Metrics;
using Router.Routing;

namespace Router.Tcp;

/// <summary>
/// The backend connect of a relay (TCP host_port, TLS passthrough): the route's hosts in turn by
/// <see cref="DestinationWalk"/>, a refused or timed-out connect sets that host aside and tries the next.
/// </summary>
internal static class BackendConnector
{
    public const int MaxAttempts = 4;

    /// <summary>
    /// A connected socket and its host, or nulls when no host could be reached; <paramref name="failed"/> hears of
    /// each failure, and whether it is the host's first since it last answered (a warning then, not every time);
    /// <paramref name="recovered"/> hears of the connect that ended such a run of failures (once per run).
    /// </summary>
    public static async Task<(Socket? Server, Destination? Destination)> ConnectAsync(ServiceRoute route, TcpServiceCounters counters, TimeProvider time, Action<Destination, string, bool> failed, Action<Destination> recovered)
    {
        var walk = new DestinationWalk(route, MaxAttempts);
        while (walk.TryNext(time.GetTimestamp(), out var destination))
        {
            try
            {
                var socket = await BackendSocket.ConnectAsync(destination.EndPoint, CancellationToken.None).ConfigureAwait(false);
                if (destination.ReportSuccess())
                {
                    recovered(destination);
                }

                return (socket, destination);
            }
            catch (SocketException e)
            {
                var first = destination.ReportConnectFailure(time);
                counters.CountConnectFailure();
                failed(destination, e.Message, first);
            }
        }

        return (null, null);
    }
}
