using System.Net;
using System.Net.Sockets;
using Router.Routing;
using Router.Testing;

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
        using var stuck = await StuckListener.StartAsync();

        var e = await Assert.ThrowsAsync<SocketException>(() => BackendSocket.ConnectAsync(stuck.EndPoint, CancellationToken.None).AsTask());

        Assert.Equal(SocketError.TimedOut, e.SocketErrorCode);
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
}
