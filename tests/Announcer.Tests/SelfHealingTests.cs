using System.Diagnostics;
using System.Net;
using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>
/// The announcer keeps its registration true against what others do to etcd: keys deleted or overwritten, a second
/// announcer for the same instance, an outage longer than the lease. Real etcd, real announcer processes.
/// </summary>
[Collection(EtcdTests.Name)]
public class SelfHealingTests(EtcdFixture fixture)
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    private string HostKey => $"{_prefix}/web/hosts/1";

    [Fact]
    public async Task KeysDeletedByOperator_PutBackUnderTheSameLease()
    {
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9",
            more: ["--ttl", "3", "--host-port", "9000", "--private"]));
        var lease = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:9", announcer);

        // What `etcdctl del --prefix /services/web/` does.
        await _etcd.DeletePrefixAsync($"{_prefix}/web/");

        Assert.Equal(lease, await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:9", announcer));
        await Wait.UntilAsync(async () =>
            await _etcd.GetAsync($"{_prefix}/web/scheme") == "http"
            && await _etcd.GetAsync($"{_prefix}/web/host_port") == "9000"
            && await _etcd.GetAsync($"{_prefix}/web/private") == "true", "the service keys to be put back");
        // Logged once the put has returned, just after the key is back.
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("HostKeyRestored"));
        var restored = announcer.Lines.Single(l => l.Contains(AnnouncerRun.Event("HostKeyRestored"), StringComparison.Ordinal));
        Assert.Contains("missing", restored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostKeyOverwrittenWithoutLease_PutBackBoundToTheLease()
    {
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9", more: ["--ttl", "3"]));
        var lease = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:9", announcer);

        // A plain key has no owner: left alone, it would outlive the instance.
        await _etcd.PutAsync(HostKey, "10.9.9.9:1");

        Assert.Equal(lease, await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:9", announcer));
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("HostKeyRestored"));
        Assert.Contains("10.9.9.9:1", announcer.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceKeyChangedByHand_ReportedOnceAndLeft()
    {
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9", more: ["--ttl", "3"]));
        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:9", announcer);

        await _etcd.PutAsync($"{_prefix}/web/scheme", "https");

        await announcer.WaitForOutputAsync(AnnouncerRun.Event("ServiceKeyDiffers"));
        // Still as written by hand after more periods: a value someone chose is not fought over.
        await HoldsForAsync($"{_prefix}/web/scheme", "https", TimeSpan.FromSeconds(3));
        Assert.Single(announcer.Lines, l => l.Contains(AnnouncerRun.Event("ServiceKeyDiffers"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task TwoAnnouncers_SameInstanceOtherAddresses_TheHolderKeepsItAndTheOtherTakesOverWhenItStops()
    {
        await using var first = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:1", more: ["--ttl", "3"]));
        var firstLease = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:1", first);
        var written = (await _etcd.Client.GetAsync(HostKey)).Kvs[0].ModRevision;

        await using var second = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:2", more: ["--ttl", "3"]));
        await second.WaitForOutputAsync(AnnouncerRun.Event("Conflict"));
        var conflict = second.Lines.First(l => l.Contains(AnnouncerRun.Event("Conflict"), StringComparison.Ordinal));
        Assert.Contains("127.0.0.1:1", conflict, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:2", conflict, StringComparison.Ordinal);

        // No flapping: over several keepalive periods of both, the key is not written again.
        await HoldsForAsync(HostKey, "127.0.0.1:1", TimeSpan.FromSeconds(4), firstLease, written);

        // The one that never held the key leaves without touching it (the old defect: its revoke deleted it).
        second.Signal(TestProcess.SigTerm);
        Assert.Equal(0, await second.WaitForExitAsync());
        Assert.Contains(AnnouncerRun.Event("StoppingNotRegistered"), second.Output, StringComparison.Ordinal);
        var after = (await _etcd.Client.GetAsync(HostKey)).Kvs[0];
        Assert.Equal(("127.0.0.1:1", firstLease, written), (after.Value.ToStringUtf8(), after.Lease, after.ModRevision));

        // A third one waits, and registers once the holder has stopped.
        await using var third = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:3", more: ["--ttl", "3"]));
        await third.WaitForOutputAsync(AnnouncerRun.Event("Conflict"));
        first.Signal(TestProcess.SigTerm);
        Assert.Equal(0, await first.WaitForExitAsync());

        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:3", third);
        await third.WaitForOutputAsync(AnnouncerRun.Event("ConflictOver"));
        Assert.DoesNotContain(AnnouncerRun.Event("Conflict"), first.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EtcdUnreachablePastTheTtl_LogsProbablyExpiredAndRegistersAgain()
    {
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, _etcd.ClientPort));
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(relay.Url, _prefix, "127.0.0.1:9", more: ["--ttl", "2"]));
        var first = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:9", announcer);

        // etcd keeps running; only this announcer is cut off, so the lease really runs out.
        relay.Cut();
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("EtcdUnavailable"));
        Assert.Contains("stays registered until lease", announcer.Output, StringComparison.Ordinal);
        await AnnouncerRun.WaitGoneAsync(_etcd.Client, HostKey);
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("ProbablyExpired"));
        Assert.DoesNotContain("registered before", announcer.Output, StringComparison.Ordinal);

        relay.Restore();

        var second = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey, "127.0.0.1:9", announcer, TimeSpan.FromSeconds(30));
        Assert.NotEqual(first, second);
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("LeaseLost"));
    }

    /// <summary>
    /// Watches <paramref name="key"/> for <paramref name="span"/> and fails if it ever differs from the value (and,
    /// when given, the lease and mod revision): an invariant over a stretch of time, not a measurement of it.
    /// </summary>
    private async Task HoldsForAsync(string key, string value, TimeSpan span, long? lease = null, long? modRevision = null)
    {
        var watch = Stopwatch.StartNew();
        string? seen = null;
        await Wait.UntilAsync(async () =>
        {
            var kv = (await _etcd.Client.GetAsync(key)).Kvs.FirstOrDefault();
            if (kv is null || kv.Value.ToStringUtf8() != value || (lease is { } l && kv.Lease != l) || (modRevision is { } m && kv.ModRevision != m))
            {
                seen = kv is null ? "(missing)" : $"{kv.Value.ToStringUtf8()} lease {kv.Lease} mod {kv.ModRevision}";
                return true;
            }

            return watch.Elapsed > span;
        }, $"{key} to stay {value}", span + TimeSpan.FromSeconds(20));
        Assert.True(seen is null, $"{key} changed to {seen}");
    }
}
