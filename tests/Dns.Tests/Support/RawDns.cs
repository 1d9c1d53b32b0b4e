using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Router.Dns.Tests.Support;

/// <summary>
/// Hand-built queries and a bare reading of answers, written apart from the code under test so the two
/// cannot share a mistake.
/// </summary>
internal static class RawDns
{
    public const ushort Rd = 0x0100;
    public const ushort Cd = 0x0010;

    public static byte[] Query(string name, ushort type, ushort id = 0x4242, ushort flags = Rd, ushort? ednsSize = null, bool dnssecOk = false)
    {
        var bytes = new List<byte>();
        Add16(bytes, id);
        Add16(bytes, flags);
        Add16(bytes, 1);
        Add16(bytes, 0);
        Add16(bytes, 0);
        Add16(bytes, (ushort)(ednsSize is null ? 0 : 1));
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        bytes.Add(0);
        Add16(bytes, type);
        Add16(bytes, 1);
        if (ednsSize is { } size)
        {
            bytes.Add(0);
            Add16(bytes, 41);
            Add16(bytes, size);
            bytes.Add(0);
            bytes.Add(0);
            Add16(bytes, (ushort)(dnssecOk ? 0x8000 : 0));
            Add16(bytes, 0);
        }

        return [.. bytes];
    }

    public static ushort Id(byte[] answer) => BinaryPrimitives.ReadUInt16BigEndian(answer);

    public static ushort Flags(byte[] answer) => BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(2));

    public static int ResponseCode(byte[] answer) => Flags(answer) & 0xF;

    public static bool Truncated(byte[] answer) => (Flags(answer) & 0x0200) != 0;

    public static int QuestionCount(byte[] answer) => BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(4));

    public static int AnswerCount(byte[] answer) => BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(6));

    public static int AuthorityCount(byte[] answer) => BinaryPrimitives.ReadUInt16BigEndian(answer.AsSpan(8));

    /// <summary>Sends one datagram and waits for the first answer with the same id (null when none comes in time).</summary>
    public static async Task<byte[]?> UdpAsync(IPEndPoint server, byte[] query, TimeSpan? timeout = null, UdpClient? client = null)
    {
        var own = client is null;
        client ??= new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            await client.SendAsync(query, server);
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
            try
            {
                while (true)
                {
                    var received = await client.ReceiveAsync(cts.Token);
                    if (query.Length < 2 || (received.Buffer.Length >= 2 && received.Buffer[0] == query[0] && received.Buffer[1] == query[1]))
                    {
                        return received.Buffer;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
        finally
        {
            if (own)
            {
                client.Dispose();
            }
        }
    }

    public static async Task<byte[]> TcpAsync(IPEndPoint server, byte[] query)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server);
        var stream = client.GetStream();
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await stream.WriteAsync(framed);
        var length = new byte[2];
        await stream.ReadExactlyAsync(length);
        var answer = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
        await stream.ReadExactlyAsync(answer);
        return answer;
    }

    private static void Add16(List<byte> bytes, ushort value)
    {
        bytes.Add((byte)(value >> 8));
        bytes.Add((byte)value);
    }
}
