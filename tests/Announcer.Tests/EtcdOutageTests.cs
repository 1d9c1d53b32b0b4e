using System.Diagnostics;
using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>The announcer against an etcd that goes away and comes back: each test has its own etcd.</summary>
public class EtcdOutageTests
{
    private const string Prefix = "/services";
    private const string HostKey = "/services/web/hosts/1";

    [Fact]
    public async Task EtcdRestarted_StillRegisteredWithLiveLease()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(etcd.Url, Prefix, "127.0.0.1:9", more: ["--ttl", "3"]));
        await AnnouncerRun.WaitRegisteredAsync(etcd.Client, HostKey, "127.0.0.1:9", announcer);

        await etcd.StopAsync();
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("EtcdUnavailable"));
        await etcd.RestartAsync();

        await announcer.WaitForOutputAsync(AnnouncerRun.Event("EtcdBack"), TimeSpan.FromSeconds(30));
        var lease = await AnnouncerRun.WaitRegisteredAsync(etcd.Client, HostKey, "127.0.0.1:9", announcer);
        // Kept alive after the restart, not just restored by etcd with a fresh TTL.
        await AssertAliveBeyondTtlAsync(etcd, lease, ttlSeconds: 3);
    }

    [Fact]
    public async Task EtcdDownAtStart_KeepsRetryingAndRegistersWhenItComes()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await etcd.StopAsync();
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(etcd.Url, Prefix, "127.0.0.1:9"));

        await announcer.WaitForOutputAsync(AnnouncerRun.Event("EtcdUnavailable"));
        Assert.False(announcer.HasExited);
        await etcd.RestartAsync();

        await AnnouncerRun.WaitRegisteredAsync(etcd.Client, HostKey, "127.0.0.1:9", announcer, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task EtcdDown_SigTerm_StillExitsZeroAfterTryingToWithdraw()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(etcd.Url, Prefix, "127.0.0.1:9", more: ["--ttl", "2"]));
        await AnnouncerRun.WaitRegisteredAsync(etcd.Client, HostKey, "127.0.0.1:9", announcer);
        await etcd.StopAsync();
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("EtcdUnavailable"));

        announcer.Signal(TestProcess.SigTerm);

        Assert.Equal(0, await announcer.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(AnnouncerRun.Event("RevokeFailed"), announcer.Output, StringComparison.Ordinal);
    }

    /// <summary>The lease still lives after more than a TTL has passed, so keepalives arrive.</summary>
    /// <summary>Checks the lease again and again until it has outlived its TTL; any check that finds it gone fails at once.</summary>
    private static async Task AssertAliveBeyondTtlAsync(EtcdProcess etcd, long lease, int ttlSeconds)
    {
        var since = Stopwatch.StartNew();
        while (since.Elapsed <= TimeSpan.FromSeconds(ttlSeconds + 1))
        {
            var left = await AnnouncerRun.TimeToLiveAsync(etcd.Client, lease);
            Assert.True(left > 0, $"lease {lease} expired after {since.Elapsed.TotalSeconds:F1} s (TTL {ttlSeconds} s)");
            await Task.Delay(200);
        }
    }
}
