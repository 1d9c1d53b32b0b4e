using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

// ceiling connection|kestrel|epoll|epoll-relay PORT BACKEND_PORT
//   connection: a Kestrel connection handler reads each request head off the transport and relays it, as sent plus
//               one X-Forwarded-For line, on a backend connection of its own; the answer goes back byte for byte.
//   kestrel:    Kestrel's HTTP/1.1 layer parses the request; the same backend exchange writes a request head from
//               the parsed one and answers with the backend's status, Content-Type and body.
//   epoll:      the connection probe's work on Linux's system calls, without .NET's socket engine (EpollProbe.cs).
//   epoll-relay: a plain TCP relay on the same system calls, for bench/tcp.sh.
// The router's settings that matter here are the same: completions inline on the socket thread.
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
if (args.Length != 3 || args[0] is not ("connection" or "kestrel" or "epoll" or "epoll-relay"))
{
    Console.Error.WriteLine("usage: ceiling connection|kestrel|epoll|epoll-relay PORT BACKEND_PORT");
    return 2;
}

var port = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var backendPort = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
if (args[0] is "epoll" or "epoll-relay")
{
    return Router.Bench.Ceiling.EpollProbe.Run(port, backendPort, relay: args[0] == "epoll-relay");
}

var backend = new IPEndPoint(IPAddress.Loopback, backendPort);
var connectionLevel = args[0] == "connection";
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
{
    if (connectionLevel)
    {
        listen.Run(connection => Probe.RelayConnectionAsync(connection, backend));
    }
}));
var app = builder.Build();
if (!connectionLevel)
{
    app.Run(context => Probe.ForwardRequestAsync(context, backend));
}

await app.RunAsync();
return 0;

internal static class Probe
{
    private static readonly byte[] ForwardedFor = "X-Forwarded-For: 127.0.0.1\r\n\r\n"u8.ToArray();

    public static async Task RelayConnectionAsync(ConnectionContext connection, IPEndPoint address)
    {
        using var backend = await Backend.ConnectAsync(address);
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        while (true)
        {
            var read = await input.ReadAsync();
            var buffer = read.Buffer;
            var headEnd = HeadLength(buffer);
            if (headEnd < 0)
            {
                if (read.IsCompleted)
                {
                    return;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            // The head without its last empty line, then X-Forwarded-For and the empty line.
            var length = (int)headEnd - 2;
            buffer.Slice(0, length).CopyTo(backend.Head);
            ForwardedFor.CopyTo(backend.Head.AsSpan(length));
            input.AdvanceTo(buffer.GetPosition(headEnd));
            var answer = await backend.ExchangeAsync(length + ForwardedFor.Length);
            foreach (var segment in answer.Whole)
            {
                output.Write(segment.Span);
            }

            backend.Consumed(answer);
            await output.FlushAsync();
        }
    }

    public static async Task ForwardRequestAsync(HttpContext context, IPEndPoint address)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()!.Items;
        if (!items.TryGetValue(typeof(Backend), out var kept))
        {
            var connected = await Backend.ConnectAsync(address);
            context.Features.Get<IConnectionLifetimeFeature>()!.ConnectionClosed.Register(connected.Dispose);
            items[typeof(Backend)] = kept = connected;
        }

        var backend = (Backend)kept!;
        var request = context.Request;
        var length = System.Text.Encoding.Latin1.GetBytes(
            $"{request.Method} {request.Path}{request.QueryString} HTTP/1.1\r\nHost: {request.Host}\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n", backend.Head);
        var answer = await backend.ExchangeAsync(length);
        var response = context.Response;
        response.StatusCode = answer.Status;
        response.ContentType = "text/plain";
        response.ContentLength = answer.BodyLength;
        foreach (var segment in answer.Whole.Slice(answer.Whole.Length - answer.BodyLength))
        {
            response.BodyWriter.Write(segment.Span);
        }

        backend.Consumed(answer);
        await response.BodyWriter.FlushAsync();
    }

    /// <summary>Bytes up to and with the empty line that ends a head, or -1 while it is incomplete.</summary>
    public static long HeadLength(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8) ? reader.Consumed : -1;
    }
}

/// <summary>One kept-alive connection to the backend, one exchange at a time.</summary>
internal sealed class Backend(Socket socket) : IDisposable
{
    private readonly PipeReader _reader = PipeReader.Create(new NetworkStream(socket, ownsSocket: true));

    public byte[] Head { get; } = new byte[16 * 1024];

    public static async Task<Backend> ConnectAsync(IPEndPoint address)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(address);
        return new Backend(socket);
    }

    /// <summary>Sends the first <paramref name="length"/> bytes of <see cref="Head"/> and reads one whole answer.</summary>
    public async Task<Answer> ExchangeAsync(int length)
    {
        await socket.SendAsync(Head.AsMemory(0, length), SocketFlags.None);
        while (true)
        {
            var read = await _reader.ReadAsync();
            var buffer = read.Buffer;
            var headLength = Probe.HeadLength(buffer);
            if (headLength >= 0)
            {
                var head = buffer.Slice(0, headLength).ToArray();
                var bodyLength = ContentLength(head);
                if (buffer.Length >= headLength + bodyLength)
                {
                    return new Answer(buffer.Slice(0, headLength + bodyLength), Status(head), bodyLength);
                }
            }

            if (read.IsCompleted)
            {
                throw new IOException("the backend closed the connection");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public void Consumed(Answer answer) => _reader.AdvanceTo(answer.Whole.End);

    public void Dispose() => _reader.Complete();

    private static int Status(ReadOnlySpan<byte> head) => Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _) ? status : 502;

    /// <summary>The Content-Length of an answer's head (the epoll probe reads it too); anything else throws.</summary>
    internal static long ContentLength(ReadOnlySpan<byte> head)
    {
        var at = head.IndexOf("\r\nContent-Length:"u8);
        if (at < 0)
        {
            throw new IOException("the probe only takes answers with a Content-Length");
        }

        var value = head[(at + 17)..];
        value = value[..value.IndexOf("\r\n"u8)].Trim((byte)' ');
        return Utf8Parser.TryParse(value, out long length, out _) ? length : throw new IOException("bad Content-Length");
    }
}

internal readonly record struct Answer(ReadOnlySequence<byte> Whole, int Status, long BodyLength);
