using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace BenchTool;

/// <summary>
/// <c>startup [--listen PROBE] [--ready PROBE] [--pidfile FILE] -- command args…</c>: starts the command and
/// times process start → the first probe answering, then → the second. It leaves the process running and
/// writes its id to the pid file. A probe is <c>tcp:HOST:PORT</c> (accepts a connection),
/// <c>http://URL</c> (answers 200) or <c>dns:HOST:PORT</c> (answers a UDP query). Each probe first answers once
/// from a stand-in server in this process, before the command starts: the probe's own first run (compiling
/// HttpClient's stack takes tens of milliseconds) would otherwise count as the command's start-up.
/// </summary>
internal static class StartupCommand
{
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(Arguments args)
    {
        if (args.Rest.Count == 0)
        {
            throw new ArgumentException("a command after -- is required");
        }

        var info = new ProcessStartInfo(args.Rest[0]) { UseShellExecute = false };
        foreach (var arg in args.Rest.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        var probes = new[] { ("listen", args.Find("listen")), ("ready", args.Find("ready")) };
        foreach (var (_, probe) in probes)
        {
            if (probe is not null)
            {
                await WarmAsync(probe);
            }
        }

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("the command did not start");
        if (args.Find("pidfile") is { } pidfile)
        {
            await File.WriteAllTextAsync(pidfile, process.Id.ToString(CultureInfo.InvariantCulture));
        }

        var name = args.Get("name", "startup");
        foreach (var (label, probe) in probes)
        {
            if (probe is null)
            {
                continue;
            }

            while (!await AnswersAsync(probe))
            {
                if (process.HasExited || Stopwatch.GetElapsedTime(started) > GiveUp)
                {
                    Console.Out.WriteLine($"RESULT {name}_{label}_failed=1");
                    return 1;
                }

                await Task.Delay(1);
            }

            Results.Print($"{name}_{label}_ms", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return 0;
    }

    /// <summary>
    /// Runs the probe's kind against a stand-in on loopback that answers it, until it answers (a cold first run
    /// may pass the probe's own timeout); fails if it never does.
    /// </summary>
    private static async Task WarmAsync(string probe)
    {
        var kind = probe[..probe.IndexOf(':', StringComparison.Ordinal)];
        using var stop = new CancellationTokenSource();
        string target;
        Task serving;
        if (kind == "dns")
        {
            var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            target = $"dns:{udp.Client.LocalEndPoint}";
            serving = EchoAsync(udp, stop.Token);
        }
        else
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            target = kind == "http" ? $"http://{listener.LocalEndpoint}/readyz" : $"{kind}:{listener.LocalEndpoint}";
            serving = AnswerAsync(listener, kind == "http", stop.Token);
        }

        var answered = false;
        for (var attempt = 0; attempt < 5 && !answered; attempt++)
        {
            answered = await AnswersAsync(target);
        }

        await stop.CancelAsync();
        await serving;
        if (!answered)
        {
            throw new InvalidOperationException($"the {kind} probe did not answer its stand-in");
        }
    }

    /// <summary>The stand-in DNS server: each datagram back as it came (at least a header long).</summary>
    private static async Task EchoAsync(UdpClient udp, CancellationToken stop)
    {
        using (udp)
        {
            try
            {
                while (true)
                {
                    var query = await udp.ReceiveAsync(stop);
                    await udp.SendAsync(query.Buffer, query.RemoteEndPoint, stop);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>The stand-in TCP server: accepts; for HTTP, reads a head and answers 200.</summary>
    private static async Task AnswerAsync(TcpListener listener, bool http, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync(stop);
                if (http)
                {
                    try
                    {
                        await RespondAsync(client.GetStream(), stop);
                    }
                    catch (Exception e) when (e is IOException or SocketException)
                    {
                        // The probe gave up on this one (its timeout): the next attempt gets a new connection.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task RespondAsync(NetworkStream stream, CancellationToken stop)
    {
        var head = new byte[4096];
        var read = 0;
        while (!head.AsSpan(0, read).EndsWith("\r\n\r\n"u8) && read < head.Length)
        {
            var n = await stream.ReadAsync(head.AsMemory(read), stop);
            if (n == 0)
            {
                return;
            }

            read += n;
        }

        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), stop);
    }

    private static async Task<bool> AnswersAsync(string probe)
    {
        var colon = probe.IndexOf(':', StringComparison.Ordinal);
        var (kind, target) = (probe[..colon], probe[(colon + 1)..]);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            switch (kind)
            {
                case "tcp":
                    using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
                    {
                        await socket.ConnectAsync(IPEndPoint.Parse(target), timeout.Token);
                        return true;
                    }

                case "http":
                    using (var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }))
                    {
                        using var response = await client.GetAsync(new Uri(probe), timeout.Token);
                        return response.StatusCode == HttpStatusCode.OK;
                    }

                case "dns":
                    using (var udp = new UdpClient(AddressFamily.InterNetwork))
                    {
                        await udp.SendAsync(Query, IPEndPoint.Parse(target), timeout.Token);
                        using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
                        var answer = await udp.ReceiveAsync(wait.Token);
                        return answer.Buffer.Length >= 12;
                    }

                default:
                    throw new ArgumentException($"unknown probe kind {kind}");
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>A DNS query for <c>ready.local</c> A, recursion desired (RFC 1035 4.1).</summary>
    private static readonly byte[] Query =
    [
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        5, (byte)'r', (byte)'e', (byte)'a', (byte)'d', (byte)'y', 5, (byte)'l', (byte)'o', (byte)'c', (byte)'a', (byte)'l', 0,
        0x00, 0x01, 0x00, 0x01,
    ];
}
