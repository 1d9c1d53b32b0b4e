using System.Net;
using System.Net.Sockets;
using Router.Routing;

namespace Router.Tests;

/// <summary>The one backend connect (YARP's client, the direct path, the relays), against real loopback sockets.</summary>
public sealed class BackendSocketTests
{
    [Fact]
    public async Task ConnectAsync_ListeningBackend_ConnectedWithNagleOff()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();

        using var socket = await BackendSocket.ConnectAsync(listener.LocalEndpoint, CancellationToken.None);
        using var accepted = await listener.AcceptSocketAsync();

        Assert.True(socket.Connected);
        Assert.True(socket.NoDelay);
        Assert.Equal(socket.LocalEndPoint, accepted.RemoteEndPoint);
    }

    [Fact]
    public async Task ConnectAsync_BackendNamedByHostName_Connected()
    {
        // YARP's ConnectCallback hands a DnsEndPoint; a dual-mode socket connects it.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        using var socket = await BackendSocket.ConnectAsync(new DnsEndPoint("localhost", port), CancellationToken.None);
        using var accepted = await listener.AcceptSocketAsync();

        Assert.True(socket.Connected);
    }

    [Fact]
    public async Task ConnectAsync_NothingListening_SocketExceptionRefused()
    {
        var closed = FreePort();

        var e = await Assert.ThrowsAsync<SocketException>(() => BackendSocket.ConnectAsync(closed, CancellationToken.None).AsTask());

        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public async Task ConnectAsync_BackendNeverAccepts_SocketExceptionTimedOut()
    {
        // A full accept queue makes Linux drop the SYN, so the connect hangs as to a host that vanished.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var fillers = await FillAcceptQueueAsync(listener.LocalEndPoint!);
        try
        {
            var e = await Assert.ThrowsAsync<SocketException>(() => BackendSocket.ConnectAsync(listener.LocalEndPoint!, CancellationToken.None).AsTask());

            Assert.Equal(SocketError.TimedOut, e.SocketErrorCode);
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task ConnectAsync_CallerCancelled_OperationCanceledNotTimeout()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BackendSocket.ConnectAsync(listener.LocalEndpoint, cancelled.Token).AsTask());
    }

    private static IPEndPoint FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)probe.LocalEndPoint!;
    }

    /// <summary>Connects until one connect does not complete: from then on the listener's queue is full.</summary>
    private static async Task<List<Socket>> FillAcceptQueueAsync(EndPoint endPoint)
    {
        var fillers = new List<Socket>();
        for (var i = 0; i < 64; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            fillers.Add(socket);
            using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.ConnectAsync(endPoint, probe.Token);
            }
            catch (OperationCanceledException)
            {
                return fillers;
            }
        }

        fillers.ForEach(f => f.Dispose());
        throw new InvalidOperationException("the accept queue never filled");
    }
}
