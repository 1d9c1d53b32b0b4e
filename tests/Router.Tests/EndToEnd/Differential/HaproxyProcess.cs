using System.Net;
using System.Net.Sockets;
using Router.Testing;

namespace Router.Tests.Differential;

/// <summary>
/// A real HAProxy (Debian's 2.6) in HTTP mode on a loopback port, with one server: the peer the router's two
/// forwarding paths are compared with. Its config is generated into a temporary folder; it is stopped by pid.
/// </summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    private readonly TestProcess _process;
    private readonly string _folder;

    private HaproxyProcess(TestProcess process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    public string Output => _process.Output;

    public static string Executable =>
        new[] { "/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists)
        ?? throw new FileNotFoundException("haproxy is not installed (scripts/test installs it from Debian)");

    public static async Task<HaproxyProcess> StartAsync(string backend)
    {
        var folder = Directory.CreateTempSubdirectory("router-haproxy-").FullName;
        var port = Ports.FreeTcp();

        // Plain HTTP mode with keep-alive both ways, HAProxy's defaults otherwise: what an operator gets.
        var config = $"""
            global
              maxconn 200
            defaults
              mode http
              timeout connect 3s
              timeout client 30s
              timeout server 30s
              option http-keep-alive
            frontend front
              bind 127.0.0.1:{port}
              default_backend back
            backend back
              server one {backend}
            """;
        var path = Path.Combine(folder, "haproxy.cfg");
        await File.WriteAllTextAsync(path, config + "\n");
        var process = TestProcess.Start(Executable, ["-f", path, "-db"], name: "haproxy");
        var haproxy = new HaproxyProcess(process, folder, port);
        try
        {
            await Wait.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"haproxy exited with {process.ExitCode}:\n{process.Output}");
                }

                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await probe.ConnectAsync(IPAddress.Loopback, port);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            }, "haproxy to listen");
        }
        catch
        {
            await haproxy.DisposeAsync();
            throw;
        }

        return haproxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
