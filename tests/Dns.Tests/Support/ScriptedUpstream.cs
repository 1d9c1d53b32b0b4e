using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Router.Dns.Tests.Support;

/// <summary>
/// A tiny upstream resolver on 127.0.0.1, written apart from the code under test: every name gets A 10.5.5.5
/// (TTL 300), and an EDNS query gets an OPT back the way BIND answers it: the client's COOKIE with a server
/// cookie of its own (RFC 7873 §5.2.3), ECS echoed with its scope (RFC 7871 §7.2.1) and an NSID, which is
/// the server's and not the client's. It records the address every query came from.
/// </summary>
internal sealed class ScriptedUpstream : IAsyncDisposable
{
    public const ushort NsidOption = 3;
    public const ushort EcsOption = 8;
    public const ushort CookieOption = 10;

    private readonly UdpClient _socket = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ScriptedUpstream()
    {
        EndPoint = (IPEndPoint)_socket.Client.LocalEndPoint!;
        _loop = Task.Run(LoopAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Where each query came from, in arrival order.</summary>
    public ConcurrentQueue<IPEndPoint> Sources { get; } = new();

    /// <summary>Each query as it arrived.</summary>
    public ConcurrentQueue<byte[]> Queries { get; } = new();

    public static byte[] ServerCookie { get; } = [0x5E, 0x5E, 0x5E, 0x5E, 0x01, 0x02, 0x03, 0x04];

    public static byte[] Nsid { get; } = "upstream"u8.ToArray();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>The options of an OPT record in a message's additional section, as (code, data) in order; null without OPT.</summary>
    public static List<(ushort Code, byte[] Data)>? Options(byte[] message)
    {
        var position = 12;
        var questions = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(4));
        var records = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(6)) + BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(8)) + BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(10));
        for (var i = 0; i < questions; i++)
        {
            position = SkipName(message, position) + 4;
        }

        for (var i = 0; i < records; i++)
        {
            var nameEnd = SkipName(message, position);
            var type = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(nameEnd));
            var length = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(nameEnd + 8));
            var data = nameEnd + 10;
            if (type == 41)
            {
                var options = new List<(ushort, byte[])>();
                for (var at = data; at < data + length;)
                {
                    var code = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(at));
                    var size = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(at + 2));
                    options.Add((code, message.AsSpan(at + 4, size).ToArray()));
                    at += 4 + size;
                }

                return options;
            }

            position = data + length;
        }

        return null;
    }

    private static int SkipName(byte[] message, int position)
    {
        while (true)
        {
            var length = message[position];
            if (length == 0)
            {
                return position + 1;
            }

            if ((length & 0xC0) == 0xC0)
            {
                return position + 2;
            }

            position += 1 + length;
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var received = await _socket.ReceiveAsync(_stop.Token);
            Sources.Enqueue(received.RemoteEndPoint);
            Queries.Enqueue(received.Buffer);
            await _socket.SendAsync(Answer(received.Buffer), received.RemoteEndPoint, _stop.Token);
        }
    }

    private static byte[] Answer(byte[] query)
    {
        var questionEnd = SkipName(query, 12) + 4;
        var clientOptions = Options(query);
        var answer = new List<byte>();
        answer.AddRange(query.AsSpan(0, 2));
        Add16(answer, (ushort)(0x8080 | (BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(2)) & 0x0100)));
        Add16(answer, 1);
        Add16(answer, 1);
        Add16(answer, 0);
        Add16(answer, (ushort)(clientOptions is null ? 0 : 1));
        answer.AddRange(query.AsSpan(12, questionEnd - 12));
        Add16(answer, 0xC00C);
        Add16(answer, 1);
        Add16(answer, 1);
        Add16(answer, 0);
        Add16(answer, 300);
        Add16(answer, 4);
        answer.AddRange([10, 5, 5, 5]);
        if (clientOptions is not null)
        {
            var data = new List<byte>();
            AddOption(data, NsidOption, Nsid);
            foreach (var (code, value) in clientOptions)
            {
                if (code == CookieOption && value.Length >= 8)
                {
                    AddOption(data, CookieOption, [.. value.AsSpan(0, 8), .. ServerCookie]);
                }
                else if (code == EcsOption && value.Length >= 4)
                {
                    // Scope prefix length = source prefix length.
                    var echoed = value.ToArray();
                    echoed[3] = echoed[2];
                    AddOption(data, EcsOption, echoed);
                }
            }

            answer.Add(0);
            Add16(answer, 41);
            Add16(answer, 1232);
            Add16(answer, 0);
            Add16(answer, 0);
            Add16(answer, (ushort)data.Count);
            answer.AddRange(data);
        }

        return [.. answer];
    }

    private static void AddOption(List<byte> data, ushort code, ReadOnlySpan<byte> value)
    {
        Add16(data, code);
        Add16(data, (ushort)value.Length);
        data.AddRange(value);
    }

    private static void Add16(List<byte> bytes, ushort value)
    {
        bytes.Add((byte)(value >> 8));
        bytes.Add((byte)value);
    }
}
