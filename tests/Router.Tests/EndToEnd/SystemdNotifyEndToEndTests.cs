using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Router.Registry;
using Router.Registry.Model;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// systemd's notify protocol against the real router process: a unix datagram socket bound by the test is
/// the router's NOTIFY_SOCKET, as systemd's is for a Type=notify unit. READY only once a table is live (not
/// when Kestrel starts), STOPPING on SIGTERM, WATCHDOG pings when WATCHDOG_USEC is set.
/// </summary>
public sealed class SystemdNotifyEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>, IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("router-notify-");

    [Fact]
    public async Task Notify_EtcdAwayAtStart_ReadyOnlyAfterTheFirstReadThenStoppingOnSigterm()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var prefix = EtcdFixture.NewPrefix();
        await etcd.PutAsync($"{prefix}/web/scheme", "http");
        await etcd.StopAsync();
        using var systemd = new NotifySocket(Path.Combine(_dir.FullName, "notify"));

        await using var router = await RouterProcess.StartAsync(etcd.Url, prefix, environment: systemd.Environment(), waitReady: false);

        // Listening, and it has tried etcd and failed: Kestrel is up, the table is not, so no READY.
        await router.Process.WaitForOutputAsync("etcd watch on");
        using (var ready = await router.AdminGetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        Assert.DoesNotContain(systemd.Messages, m => m.Contains("READY=1", StringComparison.Ordinal));

        await etcd.RestartAsync();
        await Wait.UntilAsync(() => systemd.Messages.Any(m => m.Contains("READY=1", StringComparison.Ordinal)), "READY=1");
        using (var ready = await router.AdminGetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var readyMessage = Assert.Single(systemd.Messages, m => m.Contains("READY=1", StringComparison.Ordinal));
        Assert.Contains("STATUS=serving revision", readyMessage, StringComparison.Ordinal);
        Assert.Contains("from etcd: 1 services", readyMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(systemd.Messages, m => m.Contains("STOPPING=1", StringComparison.Ordinal));

        router.Process.Signal(TestProcess.SigTerm);
        Assert.Equal(0, await router.Process.WaitForExitAsync());
        Assert.Contains(systemd.Messages, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal));

        // Without WATCHDOG_USEC there are no pings, and READY was sent once.
        Assert.DoesNotContain(systemd.Messages, m => m.Contains("WATCHDOG=1", StringComparison.Ordinal));
        Assert.Single(systemd.Messages, m => m.Contains("READY=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Notify_SavedRegistryAndEtcdAway_ReadyFromTheFile()
    {
        var prefix = EtcdFixture.NewPrefix();
        var stateFile = Path.Combine(_dir.FullName, "registry.json");
        await RegistryStateFile.SaveAsync(stateFile, prefix, 12, [new RegistryKeyValue($"{prefix}/web/scheme", Encoding.UTF8.GetBytes("http"), 3, 3)], DateTimeOffset.UtcNow, CancellationToken.None);
        using var systemd = new NotifySocket(Path.Combine(_dir.FullName, "notify"));

        // Nothing answers on this etcd: the saved table is what the router serves, so systemd is told it is up
        // (a start that waited for etcd would be killed by TimeoutStartSec and never serve the saved table).
        await using var router = await RouterProcess.StartAsync($"http://127.0.0.1:{Ports.FreeTcp()}", prefix, ["--state-file", stateFile], systemd.Environment(), waitReady: false);

        await Wait.UntilAsync(() => systemd.Messages.Any(m => m.Contains("READY=1", StringComparison.Ordinal)), "READY=1");
        var message = Assert.Single(systemd.Messages, m => m.Contains("READY=1", StringComparison.Ordinal));
        Assert.Contains("serving revision 12 from the saved registry (etcd not reached yet)", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notify_WatchdogUsecSet_PingsRepeatedly()
    {
        using var systemd = new NotifySocket(Path.Combine(_dir.FullName, "notify"));
        var environment = systemd.Environment();
        environment["WATCHDOG_USEC"] = "200000";

        await using var router = await RouterProcess.StartAsync(fixture.Etcd.Url, EtcdFixture.NewPrefix(), environment: environment);

        // The admin port answers before the host's started callback has run: READY may follow the first pings.
        await Wait.UntilAsync(() => systemd.Messages.Count(m => m == "WATCHDOG=1") >= 3 && systemd.Messages.Any(m => m.Contains("READY=1", StringComparison.Ordinal)), "three WATCHDOG=1 pings and READY=1");
        Assert.Single(systemd.Messages, m => m.Contains("READY=1", StringComparison.Ordinal));
    }

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>A unix datagram socket in the role of systemd's notify socket; collects every message.</summary>
    private sealed class NotifySocket : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        private readonly ConcurrentQueue<string> _messages = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _receiving;

        public NotifySocket(string path)
        {
            Path = path;
            _socket.Bind(new UnixDomainSocketEndPoint(path));
            _receiving = ReceiveAsync();
        }

        public string Path { get; }

        public IReadOnlyCollection<string> Messages => _messages;

        public Dictionary<string, string?> Environment() => new() { ["NOTIFY_SOCKET"] = Path };

        public void Dispose()
        {
            _stop.Cancel();
            _socket.Dispose();
            _receiving.Wait(TimeSpan.FromSeconds(5));
            _stop.Dispose();
        }

        private async Task ReceiveAsync()
        {
            var buffer = new byte[4096];
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    _messages.Enqueue(Encoding.UTF8.GetString(buffer, 0, n));
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        }
    }
}
