using System.Net.Sockets;

namespace Router.Announcer.Health;

/// <summary><c>--check tcp</c>: healthy when a TCP connection to <c>--address</c> opens in time.</summary>
internal sealed class TcpHealthCheck(string host, int port) : IHealthCheck
{
    public string Description => $"tcp connect {host}:{port}";

    public async Task<HealthCheckResult> CheckAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, cts.Token).ConfigureAwait(false);
            return HealthCheckResult.Pass;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Fail($"no connection within {timeout.TotalSeconds:0.###} s");
        }
        catch (SocketException e)
        {
            return HealthCheckResult.Fail(e.SocketErrorCode.ToString());
        }
    }
}
