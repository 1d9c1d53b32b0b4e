using System.Net;
using System.Net.Sockets;
using System.Text;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// docker/router-healthcheck, the router image's HEALTHCHECK, run on the host against a real
/// listener: it must probe the admin address the router was started with (issue 23: not a fixed
/// 9090). HEALTHCHECK_CMDLINE stands in for the container's /proc/1/cmdline.
/// </summary>
public sealed class HealthcheckScriptTests
{
    [Fact]
    public async Task Check_AdminOnCommandLine_ProbesThatPort()
    {
        await using var admin = AdminStandIn.Start("HTTP/1.1 200 OK");

        Assert.Equal(0, await CheckAsync(["/app/router", "--etcd", "http://127.0.0.1:2379", "--admin", $"127.0.0.1:{admin.Port}"], environment: null));
        Assert.Equal("GET /healthz HTTP/1.0", admin.FirstRequestLine);
    }

    [Fact]
    public async Task Check_AdminInlineAndWildcard_ProbesLoopback()
    {
        await using var admin = AdminStandIn.Start("HTTP/1.1 200 OK");

        Assert.Equal(0, await CheckAsync(["/app/router", $"--admin=0.0.0.0:{admin.Port}"], environment: null));
    }

    [Fact]
    public async Task Check_RouterAdminEnvironment_UsedWithoutOption()
    {
        await using var admin = AdminStandIn.Start("HTTP/1.1 200 OK");

        Assert.Equal(0, await CheckAsync(["/app/router"], new() { ["ROUTER_ADMIN"] = $"127.0.0.1:{admin.Port}" }));
    }

    [Fact]
    public async Task Check_CommandLineBeatsEnvironment_AsInTheRouter()
    {
        await using var admin = AdminStandIn.Start("HTTP/1.1 200 OK");

        Assert.Equal(0, await CheckAsync(["/app/router", "--admin", $"127.0.0.1:{admin.Port}"], new() { ["ROUTER_ADMIN"] = $"127.0.0.1:{Ports.FreeTcp()}" }));
    }

    [Fact]
    public async Task Check_Draining503_Fails()
    {
        await using var admin = AdminStandIn.Start("HTTP/1.1 503 Service Unavailable");

        Assert.NotEqual(0, await CheckAsync(["/app/router", "--admin", $"127.0.0.1:{admin.Port}"], environment: null));
    }

    [Fact]
    public async Task Check_NothingListening_Fails()
    {
        Assert.NotEqual(0, await CheckAsync(["/app/router", "--admin", $"127.0.0.1:{Ports.FreeTcp()}"], environment: null));
    }

    private static async Task<int> CheckAsync(string[] routerCommandLine, Dictionary<string, string?>? environment)
    {
        var cmdline = Path.GetTempFileName();
        try
        {
            // /proc/PID/cmdline: each argument ends with a NUL.
            await File.WriteAllTextAsync(cmdline, string.Concat(routerCommandLine.Select(a => a + "\0")));
            var env = new Dictionary<string, string?>(environment ?? []) { ["HEALTHCHECK_CMDLINE"] = cmdline };
            await using var check = TestProcess.Start(Path.Combine(RepoPaths.Root, "docker", "router-healthcheck"), [], env, name: "router-healthcheck");
            return await check.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            File.Delete(cmdline);
        }
    }

    /// <summary>A loopback listener that answers every connection with one status line and records the first request line.</summary>
    private sealed class AdminStandIn : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Task _loop;
        private readonly string _status;

        private AdminStandIn(string status)
        {
            _status = status;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _loop = Task.Run(AcceptAsync);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public string? FirstRequestLine { get; private set; }

        public static AdminStandIn Start(string status) => new(status);

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try
            {
                await _loop;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                using var client = await _listener.AcceptTcpClientAsync();
                await using var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII);
                FirstRequestLine ??= await reader.ReadLineAsync();
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"{_status}\r\nContent-Length: 0\r\n\r\n"));
            }
        }
    }
}
