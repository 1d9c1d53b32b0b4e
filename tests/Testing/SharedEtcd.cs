namespace Router.Testing;

/// <summary>
/// One etcd for a whole test assembly (xunit runs each assembly in a process of its own): started on first use,
/// stopped by its process id when the test process exits, however it exits. Classes on it keep apart by their own key prefix
/// (<see cref="EtcdFixture.NewPrefix"/>), so they can run in parallel; a test that stops, kills or restarts etcd
/// starts an etcd of its own instead.
/// </summary>
public static class SharedEtcd
{
    private static readonly Lazy<Task<EtcdProcess>> Instance = new(StartAsync);

    public static Task<EtcdProcess> GetAsync() => Instance.Value;

    private static async Task<EtcdProcess> StartAsync()
    {
        var etcd = await EtcdProcess.StartAsync();
        // No fixture outlives every class, so the process exit is the one moment nobody uses etcd any more.
        // The test host is often killed rather than ended (no ProcessExit event), so a watcher outside it
        // stops etcd by pid once the test process is gone.
        if (etcd.ProcessId is { } pid)
        {
            var watcher = $"exec </dev/null >/dev/null 2>&1; while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; kill {pid}; sleep 2; kill -9 {pid} 2>/dev/null; rm -rf '{etcd.DataDirectory}'";
            System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", watcher])
            {
                // Its own pipes, not the test host's output, which the test runner reads to its end.
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })?.Dispose();
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => etcd.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(15));
        return etcd;
    }
}
