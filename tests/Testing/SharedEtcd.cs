namespace Router.Testing;

/// <summary>
/// One etcd for a whole test assembly (xunit runs each assembly in a process of its own): started on first use,
/// stopped by its process id when the test process exits. Classes on it keep apart by their own key prefix
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
        AppDomain.CurrentDomain.ProcessExit += (_, _) => etcd.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(15));
        return etcd;
    }
}
