using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Router.Registry;
using Router.Registry.Model;
using Router.Routing;

namespace Router.Hosting;

/// <summary>
/// systemd's notify protocol (sd_notify(3), <c>Type=notify</c>): <c>READY=1</c> once the listeners are up
/// and a first registry table is live (read from etcd, or from the --state-file while etcd is away: the
/// router serves that table, and a start that waited for etcd would be killed by the start timeout),
/// <c>STOPPING=1</c> when SIGTERM starts the stop, <c>WATCHDOG=1</c> at half the interval systemd asks for.
/// Nothing happens without <c>NOTIFY_SOCKET</c>. Written here rather than taken from
/// Microsoft.Extensions.Hosting.Systemd: its <c>UseSystemd()</c> sends READY when the host has started,
/// before the registry is read, and systemd would call a router with an empty table ready.
/// </summary>
internal sealed partial class SystemdNotifier : IHostedService, IDisposable
{
    private readonly IRegistrySource _registry;
    private readonly RouteTableHolder _routes;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly UnixDomainSocketEndPoint? _target;
    private readonly Socket? _socket;
    private readonly TimeSpan? _watchdog;
    private ITimer? _watchdogTimer;
    private readonly Lock _readyLock = new();
    private bool _started;
    private bool _readySent;
    private int _failureLogged;

    // RouteTableHolder is built before this and subscribes to the registry in its constructor, so on every
    // change the table is applied before OnChanged here asks whether it is live.
    public SystemdNotifier(IRegistrySource registry, RouteTableHolder routes, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<SystemdNotifier> logger)
        : this(registry, routes, lifetime, time, logger, Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"))
    {
    }

    internal SystemdNotifier(IRegistrySource registry, RouteTableHolder routes, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<SystemdNotifier> logger, string? notifySocket, string? watchdogUsec, string? watchdogPid)
    {
        _registry = registry;
        _routes = routes;
        _lifetime = lifetime;
        _time = time;
        _logger = logger;
        if (string.IsNullOrEmpty(notifySocket))
        {
            return;
        }

        // sd_notify(3): a path, or a Linux abstract socket name written with a leading '@'.
        _target = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

        // WATCHDOG_PID names the process meant (a wrapper may have started us); absent means this one.
        var forUs = watchdogPid is null || watchdogPid == Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        if (forUs && long.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out var usec) && usec > 0)
        {
            // sd_watchdog_enabled(3) advises pinging at half the interval.
            _watchdog = TimeSpan.FromMicroseconds(usec / 2.0);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_socket is null)
        {
            return Task.CompletedTask;
        }

        Log.Enabled(_logger, _target!.ToString(), _watchdog?.TotalSeconds ?? 0);
        _registry.Changed += OnChanged;
        _lifetime.ApplicationStarted.Register(() =>
        {
            lock (_readyLock)
            {
                _started = true;
            }

            TryReady(_registry.Current);
        });
        _lifetime.ApplicationStopping.Register(() => Send("STOPPING=1\nSTATUS=stopping: draining requests in flight"));
        if (_watchdog is { } interval)
        {
            _watchdogTimer = _time.CreateTimer(_ => Send("WATCHDOG=1"), null, TimeSpan.Zero, interval);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _registry.Changed -= OnChanged;
        _watchdogTimer?.Dispose();
        _socket?.Dispose();
    }

    private void OnChanged(RegistrySnapshot snapshot, RegistryChange change) => TryReady(snapshot);

    /// <summary>Sends READY once both have happened: the host listens, and a first table is live.</summary>
    /// <remarks>
    /// The two events race on different threads (the watcher publishes while the host starts). Each side writes
    /// its own fact and then reads the other's; under the lock one of them is sure to see both. With plain
    /// volatile fields a store-then-load pair may be reordered and neither side would send READY (seen once in CI).
    /// </remarks>
    private void TryReady(RegistrySnapshot snapshot)
    {
        bool fromEtcd;
        lock (_readyLock)
        {
            // Revision 0 is the empty table before anything was read; a saved registry seeds a real revision.
            // Ready as /readyz says it: a table built from etcd is the one routing (not merely etcd read).
            fromEtcd = _routes.FromEtcd;
            var fromFile = !fromEtcd && snapshot.Revision > 0;
            if (!_started || !(fromEtcd || fromFile) || _readySent)
            {
                return;
            }

            _readySent = true;
        }

        var source = fromEtcd ? "etcd" : "the saved registry (etcd not reached yet)";
        Send($"READY=1\nSTATUS=serving revision {snapshot.Revision} from {source}: {snapshot.Services.Count} services, {snapshot.Problems.Length} problems");
        Log.Ready(_logger, snapshot.Revision, source);
    }

    private void Send(string message)
    {
        try
        {
            _socket!.SendTo(Encoding.UTF8.GetBytes(message), SocketFlags.None, _target!);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // systemd gone or the socket closed: routing does not depend on it. Said once, not at every watchdog tick.
            if (Interlocked.Exchange(ref _failureLogged, 1) == 0)
            {
                Log.SendFailed(_logger, message[..message.IndexOf('=', StringComparison.Ordinal)], e.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.SystemdEnabled, LogLevel.Information, "systemd notify socket {Socket}: READY after the first table, STOPPING on SIGTERM, watchdog every {WatchdogSeconds} s (0: off)")]
        public static partial void Enabled(ILogger logger, string socket, double watchdogSeconds);

        [LoggerMessage(EventIds.SystemdReady, LogLevel.Information, "Told systemd READY: revision {Revision} from {Source}")]
        public static partial void Ready(ILogger logger, long revision, string source);

        [LoggerMessage(EventIds.SystemdSendFailed, LogLevel.Warning, "systemd notify {Message} not sent: {Error}")]
        public static partial void SendFailed(ILogger logger, string message, string error);
    }
}
