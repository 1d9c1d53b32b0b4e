using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

// tcpbench server PORT                        sink ('D': read to end, answer "ok") and echo ('E') on 127.0.0.1
// tcpbench throughput PORT SECONDS STREAMS    bytes/s pushed through PORT to the sink
// tcpbench connrate PORT SECONDS CONCURRENCY  connect, 1-byte echo, close: connections per second
// Prints one line: the figure.
if (args.Length < 2)
{
    await Console.Error.WriteLineAsync("usage: tcpbench server PORT | throughput PORT SECONDS STREAMS | connrate PORT SECONDS CONCURRENCY");
    return 2;
}

var port = int.Parse(args[1], CultureInfo.InvariantCulture);
switch (args[0])
{
    case "server":
        await ServeAsync(port);
        return 0;
    case "throughput":
        Console.WriteLine((await ThroughputAsync(port, Seconds(args[2]), int.Parse(args[3], CultureInfo.InvariantCulture))).ToString("F0", CultureInfo.InvariantCulture));
        return 0;
    case "connrate":
        Console.WriteLine((await ConnRateAsync(port, Seconds(args[2]), int.Parse(args[3], CultureInfo.InvariantCulture))).ToString("F0", CultureInfo.InvariantCulture));
        return 0;
    default:
        await Console.Error.WriteLineAsync($"unknown mode {args[0]}");
        return 2;
}

static TimeSpan Seconds(string text) => TimeSpan.FromSeconds(double.Parse(text, CultureInfo.InvariantCulture));

static async Task ServeAsync(int port)
{
    using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
    listener.Listen(4096);
    Console.WriteLine("listening");
    while (true)
    {
        var client = await listener.AcceptAsync();
        _ = Task.Run(async () =>
        {
            using var _ = client;
            var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
            try
            {
                var first = new byte[1];
                if (await client.ReceiveAsync(first) == 0)
                {
                    return;
                }

                if (first[0] == (byte)'D')
                {
                    while (await client.ReceiveAsync(buffer) > 0)
                    {
                    }

                    await client.SendAsync("ok"u8.ToArray());
                }
                else
                {
                    int read;
                    while ((read = await client.ReceiveAsync(buffer)) > 0)
                    {
                        await client.SendAsync(buffer.AsMemory(0, read));
                    }
                }

                client.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        });
    }
}

static async Task<double> ThroughputAsync(int port, TimeSpan duration, int streams)
{
    var clock = Stopwatch.StartNew();
    var totals = await Task.WhenAll(Enumerable.Range(0, streams).Select(async _ =>
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync("D"u8.ToArray());
        var chunk = new byte[256 * 1024];
        long sent = 0;
        while (clock.Elapsed < duration)
        {
            sent += await socket.SendAsync(chunk);
        }

        socket.Shutdown(SocketShutdown.Send);
        var ok = new byte[2];
        var got = 0;
        while (got < 2)
        {
            var read = await socket.ReceiveAsync(ok.AsMemory(got));
            if (read == 0)
            {
                throw new IOException("the sink closed before confirming");
            }

            got += read;
        }

        return sent;
    }));
    return totals.Sum() / clock.Elapsed.TotalSeconds;
}

static async Task<double> ConnRateAsync(int port, TimeSpan duration, int concurrency)
{
    var clock = Stopwatch.StartNew();
    long done = 0;
    long failed = 0;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        var payload = new byte[] { (byte)'E', 1 };
        var back = new byte[1];
        while (clock.Elapsed < duration)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port);
                await socket.SendAsync(payload);
                if (await socket.ReceiveAsync(back) == 1)
                {
                    Interlocked.Increment(ref done);
                }

                // Reset on close: the client's port goes back at once instead of waiting in TIME_WAIT.
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref failed);
            }
        }
    }));
    if (failed > 0)
    {
        await Console.Error.WriteLineAsync($"{failed} connections failed");
    }

    return done / clock.Elapsed.TotalSeconds;
}
