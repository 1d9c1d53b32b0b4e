using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Router.Testing;

/// <summary>One client connection that speaks HTTP/1.1 by hand, to see exactly what comes back (bytes as sent, Latin-1 for text).</summary>
public sealed class RawHttpClient : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly RawHttpReader _reader;

    private RawHttpClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new RawHttpReader(PipeReader.Create(_stream));
    }

    /// <summary>Connects to the port on 127.0.0.1, from <paramref name="from"/> (another loopback address) when given.</summary>
    public static async Task<RawHttpClient> OpenAsync(int port, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null)
        {
            socket.Bind(new IPEndPoint(from, 0));
        }

        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return new RawHttpClient(socket);
    }

    /// <summary>Sends <paramref name="head"/> as Latin-1 (one byte per char), then <paramref name="body"/>.</summary>
    public async Task SendAsync(string head, byte[]? body = null)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await _stream.WriteAsync(Encoding.Latin1.GetBytes(head), timeout.Token);
        if (body is not null)
        {
            await _stream.WriteAsync(body, timeout.Token);
        }
    }

    /// <summary>The next response, an interim one too; fails when the connection ends before one begins.</summary>
    public async Task<RawHttpMessage> ReadResponseAsync(bool toHead = false)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        return await _reader.ReadResponseAsync(toHead, timeout.Token) ?? throw new IOException("the router closed the connection before answering");
    }

    public async Task<RawHttpMessage> ExchangeAsync(string head, byte[]? body = null, bool toHead = false)
    {
        await SendAsync(head, body);
        return await ReadResponseAsync(toHead);
    }

    /// <summary>Reads at least <paramref name="atLeast"/> bytes as they come, unparsed (before any other read).</summary>
    public async Task ReadRawAsync(int atLeast)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var buffer = new byte[16 * 1024];
        for (var total = 0; total < atLeast;)
        {
            var read = await _stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                throw new IOException($"the router closed the connection after {total} bytes");
            }

            total += read;
        }
    }

    /// <summary>Resets the connection, as a client that goes away does.</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _stream.Dispose();
    }

    public void Dispose() => _stream.Dispose();
}
