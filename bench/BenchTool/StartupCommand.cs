using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace BenchTool;

/// <summary>
/// <c>startup [--listen PROBE] [--ready PROBE] [--pidfile FILE] -- command args…</c>: starts the command and
/// times process start → the first probe answering, then → the second. It leaves the process running and
/// writes its id to the pid file. A probe is <c>tcp:HOST:PORT</c> (accepts a connection),
/// <c>http://URL</c> (answers 200) or <c>dns:HOST:PORT</c> (answers a UDP query).
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

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("the command did not start");
        if (args.Find("pidfile") is { } pidfile)
        {
            await File.WriteAllTextAsync(pidfile, process.Id.ToString(CultureInfo.InvariantCulture));
        }

        var name = args.Get("name", "startup");
        foreach (var (label, probe) in new[] { ("listen", args.Find("listen")), ("ready", args.Find("ready")) })
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
