using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Router.Routing;
using Router.Routing.Direct;
using Xunit.Abstractions;

namespace Router.Tests;

/// <summary>
/// The parser against the reader it must agree with: a real Kestrel configured as the router's shared HTTP
/// port. Random mutations of plain heads (fixed seeds, so a failure repeats) are parsed; every one the parser
/// calls Plain is sent to Kestrel, which must answer 200 having read the same method, target, path and Host,
/// and end the head where the parser does.
/// </summary>
public sealed class RequestHeadKestrelTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int MaxLength = 16 * 1024;
    private const int MutationsPerSeed = 3000;

    private static readonly int[] Seeds = [1, 2, 3, 5, 8, 13];

    private static readonly string[] BaseHeads =
    [
        "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "HEAD /a/b?x=1&y=%2F HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n",
        "GET /api/v1/items?q=a/b?c HTTP/1.1\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\nHost:\t app.local \t\r\nConnection: keep-alive\r\nCookie: name=Jos\u00e9\r\n\r\n",
        "GET /static/app.js?v=3 HTTP/1.1\r\nHost: 10.0.0.1:81\r\nAccept-Encoding: gzip, br\r\nIf-None-Match: \"abc\"\r\nReferer: http://a/b\r\n\r\n",
        "HEAD /x/y.z HTTP/1.1\r\nhost: a-b_c.example\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n",

        // One edit from a dot segment, a '%' in the path or a bad escape in the query.
        "GET /a/.b/..c/d.?e=%41&f=%2e%2E HTTP/1.1\r\nHost: dots.example:8443\r\n\r\n",
        "GET /.well-known/x..y/.z HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n",
    ];

    // The bytes a mutation inserts or writes over: separators, line ends, controls, and what paths and hosts are made of.
    private static readonly byte[] Interesting =
        [.. " \t\r\n\0:%./?#@[],;=-_\u007f"u8, 0x80, 0xFF, (byte)'a', (byte)'Z', (byte)'e', (byte)'T', (byte)'0', (byte)'9', (byte)'1'];

    /// <summary>The request sent after a kept-alive head: Kestrel must read it as the next request, whole.</summary>
    private static readonly byte[] Probe = "GET /probe HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"u8.ToArray();

    private WebApplication? _app;
    private int _port;

    public async Task InitializeAsync()
    {
        // As RouterHost sets up the shared HTTP port: the same limits, header encoding, HTTP/1 only, the
        // Connection-header middleware, inline scheduling.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.WebHost.UseKestrel(kestrel =>
        {
            HttpServerLimits.Apply(kestrel, new HttpServerOptions());
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(ConnectionHeader.Middleware);
            });
        });
        _app = builder.Build();
        _app.Run(context =>
        {
            ConnectionHeader.BeginRequest();
            var request = context.Request;
            var headers = context.Response.Headers;
            headers["X-Method"] = request.Method;
            headers["X-Raw-Target"] = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
            headers["X-Path"] = request.PathBase.Value + request.Path.Value;
            headers["X-Host"] = request.Headers.Host.ToString();
            headers["X-Host-Count"] = request.Headers.Host.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.ContentLength = 0;
            return Task.CompletedTask;
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        _port = new Uri(address).Port;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Parse_PlainMutations_KestrelReadsTheSameHead()
    {
        var watch = Stopwatch.StartNew();
        var plain = new List<byte[]>();
        var total = 0;
        foreach (var seed in Seeds)
        {
            var random = new Random(seed);
            for (var i = 0; i < MutationsPerSeed; i++)
            {
                var head = Mutate(Encoding.Latin1.GetBytes(BaseHeads[random.Next(BaseHeads.Length)]), random);
                total++;
                if (RequestHead.Parse(head, MaxLength, out _) == HeadVerdict.Plain)
                {
                    plain.Add(head);
                }
            }
        }

        plain.AddRange(BaseHeads.Select(Encoding.Latin1.GetBytes));
        var failures = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(plain, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (head, cancellationToken) =>
        {
            var problem = await CompareAsync(head, cancellationToken);
            if (problem is not null)
            {
                failures.Add($"{Show(head)}: {problem}");
            }
        });

        output.WriteLine($"{total} mutations, {plain.Count - BaseHeads.Length} plain, sent to Kestrel in {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.IsEmpty, $"{failures.Count} heads read differently:\n{string.Join("\n", failures.Take(20))}");

        // At least an eighth of the mutations stay plain (about a sixth do with these seeds), or the comparison proves little.
        Assert.True(plain.Count - BaseHeads.Length >= total / 8, $"only {plain.Count - BaseHeads.Length} of {total} mutations were plain");
    }

    [Fact]
    public async Task Parse_LongestPlainRequestLine_KestrelTakesItToo()
    {
        // Kestrel's MaxRequestLineSize holds the line with its CRLF: 8,192 bytes are plain and served.
        var head = Encoding.ASCII.GetBytes($"GET /{new string('a', 8192 - 16)} HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(HeadVerdict.Plain, RequestHead.Parse(head, MaxLength, out _));
        Assert.Null(await CompareAsync(head, CancellationToken.None));
    }

    [Fact]
    public async Task Parse_HundredHeaders_KestrelTakesThemToo()
    {
        var text = new StringBuilder("GET /many HTTP/1.1\r\nHost: many\r\n");
        for (var i = 0; i < 99; i++)
        {
            text.Append("X-H").Append(i).Append(": v\r\n");
        }

        var head = Encoding.ASCII.GetBytes(text.Append("\r\n").ToString());

        Assert.Equal(HeadVerdict.Plain, RequestHead.Parse(head, MaxLength, out _));
        Assert.Null(await CompareAsync(head, CancellationToken.None));
    }

    /// <summary>Sends one head (and the probe after it, if kept alive); null when Kestrel read it as the parser did.</summary>
    private async Task<string?> CompareAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        RequestHead.Parse(bytes, MaxLength, out var head);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _port), timeout.Token);
        await socket.SendAsync(bytes.AsMemory(0, head.Length), timeout.Token);
        if (!head.Close)
        {
            await socket.SendAsync(Probe, timeout.Token);
        }

        string received;
        try
        {
            received = await ReadToEndAsync(socket, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return "Kestrel did not answer within 10 s (it waits for more of the head?)";
        }

        var responses = received.Split("\r\n\r\n", StringSplitOptions.RemoveEmptyEntries);
        var expectedCount = head.Close ? 1 : 2;
        if (responses.Length != expectedCount)
        {
            return $"{responses.Length} responses, expected {expectedCount}: {Escape(received)}";
        }

        var first = Response(responses[0]);
        var target = Encoding.Latin1.GetString(bytes, head.TargetStart, head.TargetLength);
        var expected = new Dictionary<string, string>
        {
            ["status"] = "200",
            ["x-method"] = head.IsHead ? "HEAD" : "GET",
            ["x-raw-target"] = target,
            ["x-path"] = target[..head.PathLength],
            ["x-host"] = Encoding.Latin1.GetString(bytes, head.HostStart, head.HostLength),
            ["x-host-count"] = "1",
            ["connection"] = head.Close ? "close" : "",
        };
        foreach (var (name, value) in expected)
        {
            var actual = first.GetValueOrDefault(name, "");
            if (actual != value)
            {
                return $"{name} is '{Escape(actual)}', parser says '{Escape(value)}'";
            }
        }

        if (!head.Close)
        {
            var second = Response(responses[1]);
            if (second.GetValueOrDefault("status") != "200" || second.GetValueOrDefault("x-raw-target") != "/probe")
            {
                return $"the request after the head was not read whole: {Escape(responses[1])}";
            }
        }

        return null;
    }

    private static async Task<string> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return Encoding.Latin1.GetString(received.ToArray());
    }

    /// <summary>A response head as lower-case names to values, its status code under "status".</summary>
    private static Dictionary<string, string> Response(string head)
    {
        var lines = head.Split("\r\n");
        var result = new Dictionary<string, string>
        {
            ["status"] = lines[0].Length >= 12 ? lines[0][9..12] : lines[0],
        };
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                result[line[..colon].ToLowerInvariant()] = line[(colon + 1)..].Trim();
            }
        }

        return result;
    }

    /// <summary>One to three edits: a byte inserted, deleted or replaced; a line doubled or dropped; a letter's case flipped.</summary>
    private static byte[] Mutate(byte[] head, Random random)
    {
        var bytes = new List<byte>(head);
        var edits = random.Next(1, 4);
        for (var edit = 0; edit < edits && bytes.Count > 0; edit++)
        {
            // Half the edits land in the request line, where the target is: one edit in ~40 bytes of it
            // would otherwise be rare among the header bytes.
            var lineEnd = bytes.IndexOf((byte)'\n') + 1;
            var at = random.Next(2) == 0 && lineEnd > 0 ? random.Next(lineEnd) : random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0:
                case 1:
                    bytes.Insert(at, Interesting[random.Next(Interesting.Length)]);
                    break;
                case 2:
                    bytes.RemoveAt(at);
                    break;
                case 3:
                    bytes[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 4:
                case 5:
                    var (start, length) = LineAround(bytes, at);
                    if (random.Next(2) == 0)
                    {
                        bytes.InsertRange(start, bytes.GetRange(start, length));
                    }
                    else
                    {
                        bytes.RemoveRange(start, length);
                    }

                    break;
                default:
                    if (char.IsAsciiLetter((char)bytes[at]))
                    {
                        bytes[at] ^= 0x20;
                    }

                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>The line holding <paramref name="at"/>, with its LF.</summary>
    private static (int Start, int Length) LineAround(List<byte> bytes, int at)
    {
        var start = bytes.FindLastIndex(at, b => b == '\n') + 1;
        var end = bytes.FindIndex(at, b => b == '\n');
        end = end < 0 ? bytes.Count : end + 1;
        return (start, end - start);
    }

    private static string Show(byte[] head) => Escape(Encoding.Latin1.GetString(head));

    private static string Escape(string text)
    {
        var escaped = new StringBuilder();
        foreach (var c in text)
        {
            escaped.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                < ' ' or >= '\u007f' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return escaped.ToString();
    }
}
