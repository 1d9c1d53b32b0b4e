using System.Diagnostics;
using System.Net;
using Router.Testing;
using Xunit.Abstractions;

namespace Router.Tests;

/// <summary>
/// The router against a real 3-member etcd cluster on loopback, given every endpoint: members stop under it
/// (the one it uses, the leader) while changes keep being written through the survivors, and none is lost.
/// Each test has its own cluster.
/// </summary>
public sealed class EtcdClusterEndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task MemberInUseStoppedInTurn_RouterMovesOnAndLosesNoChange()
    {
        await using var cluster = await EtcdCluster.StartAsync();
        var prefix = EtcdFixture.NewPrefix();
        await using var backend = await TestBackend.StartAsync("web-1");
        await using var writer = await ChangeWriter.StartAsync(cluster, prefix, backend.Address);
        await using var router = await RouterProcess.StartAsync(cluster.Urls, prefix);
        await writer.WaitWrittenAsync(5);

        // Three rounds: the member in use is stopped, the router must move on; the member comes back before the
        // next round. The third move returns to a member whose channel went through a failed reconnect.
        var visited = new List<int>();
        for (var round = 0; round < 3; round++)
        {
            var inUse = await CurrentMemberAsync(router, cluster);
            visited.Add(inUse);
            var watch = Stopwatch.StartNew();
            await cluster.StopMemberAsync(inUse);
            await Wait.UntilAsync(async () =>
            {
                var etcd = (await router.StatusAsync()).GetProperty("etcd");
                return etcd.GetProperty("connected").GetBoolean() && new Uri(etcd.GetProperty("current").GetString()!) != new Uri(cluster.Url(inUse));
            }, $"the router to leave stopped member {inUse}");
            output.WriteLine($"round {round}: stopped member {inUse} in use; router moved on after {watch.ElapsedMilliseconds} ms");

            await writer.WaitWrittenAsync(writer.Written + 5);
            await cluster.RestartMemberAsync(inUse);
        }

        visited.Add(await CurrentMemberAsync(router, cluster));
        foreach (var line in router.Process.Lines.Where(l => l.Contains("FailedOver", StringComparison.Ordinal) || l.Contains("\"Watching\"", StringComparison.Ordinal)))
        {
            output.WriteLine(line);
        }

        Assert.Equal(3, visited.Distinct().Count());
        await writer.StopAsync();
        await AssertNothingLostAsync(router, writer, backend.Address);
        Assert.Contains("etcd endpoint", router.Process.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LeaderStopped_ChangesThroughSurvivorsAreRouted(bool leaderInUse)
    {
        await using var cluster = await EtcdCluster.StartAsync();
        var prefix = EtcdFixture.NewPrefix();
        await using var backend = await TestBackend.StartAsync("web-1");
        var leader = await cluster.LeaderIndexAsync();
        var follower = (leader + 1) % cluster.Count;
        var first = leaderInUse ? leader : follower;
        var urls = string.Join(',', Enumerable.Range(0, cluster.Count).Select(i => cluster.Url((first + i) % cluster.Count)));
        await using var writer = await ChangeWriter.StartAsync(cluster, prefix, backend.Address);
        await using var router = await RouterProcess.StartAsync(urls, prefix);
        await writer.WaitWrittenAsync(5);
        Assert.Equal(first, await CurrentMemberAsync(router, cluster));

        var watch = Stopwatch.StartNew();
        await cluster.StopMemberAsync(leader);
        var newLeader = await cluster.LeaderIndexAsync();
        output.WriteLine($"leader {leader} stopped (in use: {leaderInUse}); new leader {newLeader} after {watch.ElapsedMilliseconds} ms");
        Assert.NotEqual(leader, newLeader);

        var written = writer.Written;
        await writer.WaitWrittenAsync(written + 10);
        output.WriteLine($"10 more services written {watch.ElapsedMilliseconds} ms after the stop");
        await Wait.UntilAsync(async () => (await ServicesAsync(router, backend.Address)).Count >= written + 10, "changes after the leader stop to be routed");
        output.WriteLine($"router on member {await CurrentMemberAsync(router, cluster)}; changes routed again {watch.ElapsedMilliseconds} ms after the stop");
        if (!leaderInUse)
        {
            Assert.Equal(first, await CurrentMemberAsync(router, cluster));
        }

        await writer.StopAsync();
        await AssertNothingLostAsync(router, writer, backend.Address);
    }

    private static async Task<int> CurrentMemberAsync(RouterProcess router, EtcdCluster cluster)
    {
        var current = new Uri((await router.StatusAsync()).GetProperty("etcd").GetProperty("current").GetString()!);
        return Enumerable.Range(0, cluster.Count).Single(i => new Uri(cluster.Url(i)) == current);
    }

    /// <summary>Names of the services the router routes to <paramref name="address"/>, as its status shows them.</summary>
    private static async Task<HashSet<string>> ServicesAsync(RouterProcess router, string address)
    {
        var status = await router.StatusAsync();
        return status.GetProperty("services").EnumerateArray()
            .Where(s => s.GetProperty("hosts").EnumerateArray().Any(h => h.GetProperty("address").GetString() == address))
            .Select(s => s.GetProperty("name").GetString()!)
            .ToHashSet(StringComparer.Ordinal);
    }

    private async Task AssertNothingLostAsync(RouterProcess router, ChangeWriter writer, string address)
    {
        var expected = writer.Services.ToHashSet(StringComparer.Ordinal);
        await Wait.UntilAsync(async () => (await ServicesAsync(router, address)).SetEquals(expected), "every written service in the router's table");
        foreach (var name in expected)
        {
            var (status, echo) = await router.EchoAsync($"{name}.example.com", "/");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("web-1", echo!.Name);
        }

        output.WriteLine($"{expected.Count} services written during the test, {expected.Count} routed");
    }

    /// <summary>
    /// Writes one new service after another (scheme, then host key) through whichever members are up, until
    /// stopped; a put is retried until etcd acknowledges it, so every service in <see cref="Services"/> was written.
    /// </summary>
    private sealed class ChangeWriter : IAsyncDisposable
    {
        private readonly EtcdCluster _cluster;
        private readonly string _prefix;
        private readonly string _address;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<string> _services = [];
        private Task _loop = Task.CompletedTask;

        private ChangeWriter(EtcdCluster cluster, string prefix, string address)
        {
            _cluster = cluster;
            _prefix = prefix;
            _address = address;
        }

        public int Written
        {
            get
            {
                lock (_services)
                {
                    return _services.Count;
                }
            }
        }

        public IReadOnlyList<string> Services
        {
            get
            {
                lock (_services)
                {
                    return [.. _services];
                }
            }
        }

        public static Task<ChangeWriter> StartAsync(EtcdCluster cluster, string prefix, string address)
        {
            var writer = new ChangeWriter(cluster, prefix, address);
            writer._loop = Task.Run(writer.RunAsync);
            return Task.FromResult(writer);
        }

        public Task WaitWrittenAsync(int count) => Wait.UntilAsync(() =>
        {
            if (_loop.IsFaulted)
            {
                throw new InvalidOperationException("the writer failed", _loop.Exception);
            }

            return Written >= count;
        }, $"{count} services written to etcd");

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _loop;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _loop;
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
            }

            _stop.Dispose();
        }

        private async Task RunAsync()
        {
            for (var n = 0; !_stop.IsCancellationRequested; n++)
            {
                var name = $"s{n}";
                await _cluster.PutAsync($"{_prefix}/{name}/scheme", "http");
                await _cluster.PutAsync($"{_prefix}/{name}/hosts/1", _address);
                lock (_services)
                {
                    _services.Add(name);
                }
            }
        }
    }
}
