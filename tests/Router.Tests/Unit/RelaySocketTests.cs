using System.Net;
using System.Net.Sockets;
using System.Text;
using Router.Metrics;
using Router.Tcp;

namespace Router.Tests;

/// <summary>
/// The relay's socket operations and the relay itself on real loopback sockets: a reset or an aborted
/// connection is an ordinary end, reported as a value. An exception per connection was half the relay's CPU
/// under the connection-rate benchmark, so these tests also watch for first-chance exceptions in the relay's
/// own flow (an <see cref="AsyncLocal{T}"/> marks it; other tests' exceptions do not count).
/// </summary>
public sealed class RelaySocketTests : IDisposable
{
    private static readonly AsyncLocal<RelaySocketTests?> Current = new();
    private readonly List<Socket> _sockets = [];
    private int _exceptions;

    public RelaySocketTests() => AppDomain.CurrentDomain.FirstChanceException += Count;

    public void Dispose()
    {
        AppDomain.CurrentDomain.FirstChanceException -= Count;
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task Receive_DataThenEnd_CountThenZero()
    {
        var (near, far) = await PairAsync();
        using var receive = new SocketOperation();
        await far.SendAsync("abc"u8.ToArray());
        far.Shutdown(SocketShutdown.Send);

        var buffer = new byte[16];
        Assert.Equal(3, await receive.ReceiveAsync(near, buffer));
        Assert.Equal("abc", Encoding.ASCII.GetString(buffer, 0, 3));
        Assert.Equal(0, await receive.ReceiveAsync(near, buffer));
    }

    [Fact]
    public async Task Receive_ReusedForManyOperations_EachGetsItsBytes()
    {
        var (near, far) = await PairAsync();
        using var receive = new SocketOperation();
        var buffer = new byte[1];
        for (var i = 0; i < 200; i++)
        {
            // Half of them wait for the byte (completed later), half find it there (completed at once).
            var pending = receive.ReceiveAsync(near, buffer);
            await far.SendAsync(new[] { (byte)i });
            Assert.Equal(1, await pending);
            Assert.Equal((byte)i, buffer[0]);
            await far.SendAsync(new[] { (byte)(i + 1) });
            await Task.Delay(1);
            Assert.Equal(1, await receive.ReceiveAsync(near, buffer));
            Assert.Equal((byte)(i + 1), buffer[0]);
        }
    }

    [Fact]
    public async Task Receive_PeerResets_FailedNotThrown()
    {
        var (near, far) = await PairAsync();
        using var receive = new SocketOperation();
        var pending = receive.ReceiveAsync(near, new byte[16]);
        Reset(far);

        Assert.Equal(SocketOperation.Failed, await Watched(() => pending.AsTask()));
        Assert.Equal(0, _exceptions);
    }

    [Fact]
    public async Task Receive_SocketClosedWhileWaiting_Failed()
    {
        var (near, _) = await PairAsync();
        using var receive = new SocketOperation();
        var pending = receive.ReceiveAsync(near, Memory<byte>.Empty);
        near.Dispose();

        Assert.Equal(SocketOperation.Failed, await pending);
    }

    [Fact]
    public async Task ReceiveAndSend_SocketAlreadyClosed_Failed()
    {
        var (near, _) = await PairAsync();
        near.Dispose();
        using var receive = new SocketOperation();
        using var send = new SocketOperation();

        Assert.Equal(SocketOperation.Failed, await receive.ReceiveAsync(near, new byte[16]));
        Assert.Equal(SocketOperation.Failed, await send.SendAsync(near, new byte[16]));
    }

    [Fact]
    public async Task Send_PeerReset_FailedNotThrown()
    {
        var (near, far) = await PairAsync();
        using var send = new SocketOperation();
        Reset(far);

        // The first send may still be taken by the kernel; the reset it draws fails the next ones.
        var result = await Watched(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                var sent = await send.SendAsync(near, new byte[1024]);
                if (sent == SocketOperation.Failed)
                {
                    return sent;
                }

                await Task.Delay(10);
            }

            return 0;
        });

        Assert.Equal(SocketOperation.Failed, result);
        Assert.Equal(0, _exceptions);
    }

    [Fact]
    public async Task Relay_EchoAndHalfClose_BothWaysThenEnds()
    {
        var counters = new TcpServiceCounters();
        var (client, server, relay, run) = await StartRelayAsync(counters);
        using var _ = relay;

        await client.SendAsync("ping"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);
        Assert.Equal("ping", await ReadToEndAsync(server));
        await server.SendAsync("pong"u8.ToArray());
        server.Shutdown(SocketShutdown.Send);
        Assert.Equal("pong", await ReadToEndAsync(client));

        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, counters.BytesFromClients);
        Assert.Equal(4, counters.BytesToClients);
        Assert.Equal(0, _exceptions);
    }

    /// <summary>
    /// Messages of sizes around the relay's buffer, each answered before the next is sent: a relay that held
    /// bytes back for more to come would never pass one on. Sizes that fill the buffer exactly are where that
    /// would happen. Every byte must arrive, in order, both ways.
    /// </summary>
    [Fact]
    public async Task Relay_MessagesAroundTheBufferSizes_EachPassedOnWhole()
    {
        var counters = new TcpServiceCounters();
        var (client, server, relay, run) = await StartRelayAsync(counters);
        using var _ = relay;
        int[] sizes = [1, 511, 512, 513, 1, 1024, 65535, 65536, 65537, 3, 200_000, 512, 7];
        long total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var (size, index) in sizes.Select((s, i) => (s, i)))
        {
            var message = new byte[size];
            new Random(index).NextBytes(message);
            await client.SendAsync(message, SocketFlags.None, timeout.Token);
            Assert.Equal(message, await ReceiveExactlyAsync(server, size, timeout.Token));
            await server.SendAsync(message, SocketFlags.None, timeout.Token);
            Assert.Equal(message, await ReceiveExactlyAsync(client, size, timeout.Token));
            total += size;
        }

        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(string.Empty, await ReadToEndAsync(server));
        server.Shutdown(SocketShutdown.Send);
        Assert.Equal(string.Empty, await ReadToEndAsync(client));
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((total, total), (counters.BytesFromClients, counters.BytesToClients));
        Assert.Equal(0, _exceptions);
    }

    [Fact]
    public async Task Relay_ClientResets_ServerConnectionClosedWithoutAnException()
    {
        var (client, server, relay, run) = await StartRelayAsync(new TcpServiceCounters());
        using var _ = relay;

        await client.SendAsync("hello"u8.ToArray());
        var buffer = new byte[16];
        Assert.Equal(5, await server.ReceiveAsync(buffer));
        Reset(client);

        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(string.Empty, await ReadToEndAsync(server));
        Assert.Equal(0, _exceptions);
    }

    [Fact]
    public async Task Relay_Aborted_BothConnectionsClosed()
    {
        var (client, server, relay, run) = await StartRelayAsync(new TcpServiceCounters());
        using var _ = relay;

        relay.Abort();

        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(string.Empty, await ReadToEndAsync(client));
        Assert.Equal(string.Empty, await ReadToEndAsync(server));
        Assert.Equal(0, _exceptions);
    }

    // A relay between a client connection and a server connection, running in this test's watched flow.
    private async Task<(Socket Client, Socket Server, Relay Relay, Task<int> Run)> StartRelayAsync(TcpServiceCounters counters)
    {
        var (client, clientSide) = await PairAsync();
        var (serverSide, server) = await PairAsync();
        var relay = new Relay(new SocketRelayEnd(clientSide), new SocketRelayEnd(serverSide), IPAddress.Loopback, counters, TimeProvider.System);
        return (client, server, relay, Watched(relay.RunAsync));
    }

    // Runs the work in a flow marked as this test's, so that its first-chance exceptions are counted.
    private Task<T> Watched<T>(Func<Task<T>> work)
    {
        Current.Value = this;
        try
        {
            return work();
        }
        finally
        {
            Current.Value = null;
        }
    }

    private Task<int> Watched(Func<Task> work) => Watched(async () =>
    {
        await work();
        return 0;
    });

    private static void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
    {
        if (Current.Value is { } test)
        {
            Interlocked.Increment(ref test._exceptions);
        }
    }

    // Closes with SO_LINGER 0: the kernel sends a reset instead of an end of stream.
    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    // Reads until the end of the stream or a reset (both are an end to the reader here).
    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        return text.ToString();
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        var received = 0;
        while (received < count)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, cancellationToken);
            Assert.True(read > 0, $"the connection ended after {received} of {count} bytes");
            received += read;
        }

        return buffer;
    }

    private async Task<(Socket Near, Socket Far)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var near = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _sockets.Add(near);
        await near.ConnectAsync(listener.LocalEndPoint!);
        var far = await listener.AcceptAsync();
        _sockets.Add(far);
        return (near, far);
    }
}
