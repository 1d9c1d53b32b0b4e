using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Router.Testing;

/// <summary>
/// A loopback listener whose accept queue is full: Linux drops the SYN of every further connect, so a
/// connect to it hangs as to a host that vanished, until the connector gives up or is cancelled.
/// </summary>
public sealed class StuckListener : IDisposable
{
    private readonly Socket _listener;
    private readonly List<Socket> _fillers;

    private StuckListener(Socket listener, List<Socket> fillers) => (_listener, _fillers) = (listener, fillers);

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>host:port, as the registry holds it.</summary>
    public string Address => $"127.0.0.1:{EndPoint.Port}";

    public static async Task<StuckListener> StartAsync()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var fillers = new List<Socket>();
        for (var i = 0; i < 64; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.ConnectAsync(listener.LocalEndPoint!, probe.Token);
                fillers.Add(socket);
            }
            catch (OperationCanceledException)
            {
                // This one hung: the queue is full. It goes, so only the connects under test are half open.
                socket.Dispose();
                return new StuckListener(listener, fillers);
            }
        }

        fillers.ForEach(f => f.Dispose());
        listener.Dispose();
        throw new InvalidOperationException("the accept queue never filled");
    }

    /// <summary>
    /// Connects to this listener still waiting for an answer to their SYN, read from <c>/proc/net/tcp</c> and
    /// <c>tcp6</c> (a dual-mode socket's connect to 127.0.0.1 is listed there).
    /// </summary>
    public int HalfOpenConnects()
    {
        var port = EndPoint.Port.ToString("X4", CultureInfo.InvariantCulture);
        return new[] { "/proc/net/tcp", "/proc/net/tcp6" }.SelectMany(table => File.ReadLines(table).Skip(1))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(fields => fields[2].EndsWith(":" + port, StringComparison.Ordinal) && fields[3] == "02");
    }

    public void Dispose()
    {
        _fillers.ForEach(f => f.Dispose());
        _listener.Dispose();
    }
}
