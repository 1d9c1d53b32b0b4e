using System.Net;
using System.Net.Sockets;

namespace Router.Testing;

/// <summary>
/// A real dnsmasq (Debian's dnsmasq-base) on a free loopback port, in the foreground with no upstream and no
/// hosts file, so it answers only what the test configures. Killed by process id on dispose.
/// </summary>
public sealed class DnsmasqProcess : IAsyncDisposable
{
    private readonly string[] _arguments;
    private TestProcess? _process;

    private DnsmasqProcess(int port, string[] arguments)
    {
        Port = port;
        _arguments = arguments;
    }

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public static string Binary => File.Exists("/usr/sbin/dnsmasq") ? "/usr/sbin/dnsmasq" : "dnsmasq";

    /// <summary>Starts dnsmasq with the given extra options (<c>--address=/example.test/10.1.2.3</c>, …).</summary>
    public static Task<DnsmasqProcess> StartAsync(params string[] arguments) => StartAsync(Ports.FreeTcpAndUdp(), arguments);

    /// <summary>Starts dnsmasq on a given port (to stand in for one that was stopped).</summary>
    public static async Task<DnsmasqProcess> StartAsync(int port, params string[] arguments)
    {
        var dnsmasq = new DnsmasqProcess(port, arguments);
        await dnsmasq.RestartAsync();
        return dnsmasq;
    }

    /// <summary>Starts it (again) on the same port with the same options.</summary>
    public async Task RestartAsync()
    {
        _process = TestProcess.Start(Binary,
        [
            // --no-daemon also keeps TCP queries in this process, so killing it leaves no forked child.
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            $"--port={Port}",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            .. _arguments,
        ], name: "dnsmasq");

        using var probe = new UdpClient(AddressFamily.InterNetwork);
        await Wait.UntilAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"dnsmasq exited with {_process.ExitCode}:\n{_process.Output}");
            }

            // Any answer at all (REFUSED included) means it is up.
            byte[] query = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5, (byte)'p', (byte)'r', (byte)'o', (byte)'b', (byte)'e', 0, 0, 1, 0, 1];
            await probe.SendAsync(query, EndPoint);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            try
            {
                var answer = await probe.ReceiveAsync(timeout.Token);
                return answer.Buffer.Length >= 12 && answer.Buffer[0] == 0x12 && answer.Buffer[1] == 0x34;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }, $"dnsmasq on 127.0.0.1:{Port} to answer");
    }

    /// <summary>Stops it (SIGTERM) and waits for the exit.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        await _process.StopAsync();
        await _process.DisposeAsync();
        _process = null;
    }

    public string Output => _process?.Output ?? "";

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }
    }
}
