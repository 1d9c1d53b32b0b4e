using System.Net;
using System.Net.Sockets;

namespace Router.Testing;

/// <summary>
/// Free loopback ports for servers a test starts later, all below Linux's ephemeral range. A port from that
/// range (what a bind to port 0 returns) can be taken, between the test picking it and its server binding
/// it, as the local port of any outgoing TCP connection or UDP query on the machine: the router's DNS relay
/// alone opens a socket with a port from that range per query. Below it the kernel never picks on its own.
/// <para>
/// The test processes of one run (and of runs side by side on one machine) each claim blocks of ports with a
/// lock file, held until the process ends, and hand out each port of a block once, after checking that nothing
/// listens on it: two processes, or two classes in one process, never get the same port for two servers.
/// </para>
/// </summary>
public static class Ports
{
    private const int First = 15000;
    private const int BlockSize = 100;
    private static readonly string LockDirectory = Path.Combine(Path.GetTempPath(), "router-test-ports");
    private static readonly Lock Gate = new();
    private static readonly List<FileStream> Claims = [];
    private static int _next;
    private static int _blockEnd;

    /// <summary>A port nothing listens on for TCP.</summary>
    public static int FreeTcp() => Next(count: 1, udpToo: false);

    /// <summary>A port free for both TCP and UDP (DNS listens on both).</summary>
    public static int FreeTcpAndUdp() => Next(count: 1, udpToo: true);

    /// <summary>
    /// A port <c>p</c> where <c>p</c> and <c>p + 1</c> are both free for TCP and both handed out, for a program
    /// that takes the next port itself (scripts/run gives etcd's peer <c>ETCD_PORT + 1</c>).
    /// </summary>
    public static int FreeTcpPair() => Next(count: 2, udpToo: false);

    /// <summary>The first of <paramref name="count"/> adjacent free ports, all handed out.</summary>
    private static int Next(int count, bool udpToo)
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 10 * BlockSize; attempt++)
            {
                if (_next + count > _blockEnd)
                {
                    ClaimBlock();
                }

                var port = _next++;
                if (Enumerable.Range(port, count).All(p => Free(p, udpToo)))
                {
                    _next = port + count;
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"no {count} adjacent free port(s) on 127.0.0.1 in {10 * BlockSize} tries below the ephemeral range");
    }

    /// <summary>Takes the lock file of a block no other process holds, and moves on to its ports.</summary>
    private static void ClaimBlock()
    {
        var blocks = (EphemeralStart() - First) / BlockSize;
        Directory.CreateDirectory(LockDirectory);
        foreach (var block in Enumerable.Range(0, blocks).OrderBy(_ => Random.Shared.Next()))
        {
            try
            {
                // FileShare.None takes an exclusive flock(2): the kernel drops it when this process ends.
                Claims.Add(new FileStream(Path.Combine(LockDirectory, $"{First + block * BlockSize}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
                _next = First + block * BlockSize;
                _blockEnd = _next + BlockSize;
                return;
            }
            catch (IOException)
            {
                // Another test process holds this block.
            }
        }

        throw new InvalidOperationException($"every block of {BlockSize} ports from {First} to the ephemeral range is held by a test process (lock files in {LockDirectory})");
    }

    /// <summary>The lowest port Linux draws from on its own (32768 unless configured).</summary>
    private static int EphemeralStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            var low = int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
            if (low >= First + BlockSize)
            {
                return Math.Min(low, 65536);
            }
        }
        catch (IOException)
        {
        }

        throw new InvalidOperationException($"the ephemeral port range must start above {First + BlockSize}: /proc/sys/net/ipv4/ip_local_port_range");
    }

    private static bool Free(int port, bool udpToo)
    {
        try
        {
            using var tcp = new TcpListener(IPAddress.Loopback, port);
            tcp.Start();
            if (udpToo)
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A TCP listener on 127.0.0.1 and a port the system picked, already listening.</summary>
    public static Socket ListenLoopback()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(128);
        return listener;
    }
}
