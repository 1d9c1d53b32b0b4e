using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>Real etcd, real backend, real announcer process: what ends up in etcd, and when.</summary>
[Collection(EtcdTests.Name)]
public class RegistrationTests(EtcdFixture fixture)
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();

    private string HostKey(string instance = "1") => $"{_prefix}/web/hosts/{instance}";

    [Fact]
    public async Task Check_FailingAtStart_NotRegisteredUntilItPasses()
    {
        await using var backend = await HealthBackend.StartAsync(healthy: false);
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, backend.Address, more: ["--check", backend.HealthUrl]));

        await announcer.WaitForOutputAsync(AnnouncerRun.Event("NotHealthy"));
        Assert.Null(await AnnouncerRun.ReadAsync(_etcd.Client, HostKey()));
        Assert.Null(await _etcd.GetAsync($"{_prefix}/web/scheme"));

        backend.Healthy = true;

        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), backend.Address, announcer);
    }

    [Fact]
    public async Task Register_NoCheck_HostKeyIsAddressBoundToLiveLease()
    {
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9", more: ["--ttl", "5"]));

        var lease = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), "127.0.0.1:9", announcer);

        var ttl = await AnnouncerRun.TimeToLiveAsync(_etcd.Client, lease);
        Assert.InRange(ttl, 1, 5);
        Assert.Equal("http", await _etcd.GetAsync($"{_prefix}/web/scheme"));
        Assert.Null(await _etcd.GetAsync($"{_prefix}/web/host_port"));
        Assert.Null(await _etcd.GetAsync($"{_prefix}/web/private"));
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("Registered"));
    }

    [Fact]
    public async Task Register_ServiceKeys_WrittenWithoutLeaseWhenMissingOrDifferent()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/host_port", "8000");
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9",
            more: ["--scheme", "tcp", "--host-port", "9000", "--private"]));

        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), "127.0.0.1:9", announcer);

        Assert.Equal(("tcp", 0L), await AnnouncerRun.ReadAsync(_etcd.Client, $"{_prefix}/web/scheme"));
        Assert.Equal(("9000", 0L), await AnnouncerRun.ReadAsync(_etcd.Client, $"{_prefix}/web/host_port"));
        Assert.Equal(("true", 0L), await AnnouncerRun.ReadAsync(_etcd.Client, $"{_prefix}/web/private"));
    }

    [Fact]
    public async Task Register_ServiceKeysAlreadyRight_AreNotRewritten()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/private", "yes");
        var before = (await _etcd.Client.GetAsync($"{_prefix}/web/scheme")).Kvs[0].ModRevision;
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9", more: ["--private"]));

        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), "127.0.0.1:9", announcer);

        Assert.Equal(before, (await _etcd.Client.GetAsync($"{_prefix}/web/scheme")).Kvs[0].ModRevision);
        Assert.Equal("yes", await _etcd.GetAsync($"{_prefix}/web/private"));
        Assert.DoesNotContain(AnnouncerRun.Event("ServiceKeyWritten"), announcer.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_FailsThenPasses_WithdrawnThenBack()
    {
        await using var backend = await HealthBackend.StartAsync();
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, backend.Address, more: ["--check", backend.HealthUrl]));
        var first = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), backend.Address, announcer);

        backend.Healthy = false;
        await AnnouncerRun.WaitGoneAsync(_etcd.Client, HostKey());
        Assert.Equal(-1, await AnnouncerRun.TimeToLiveAsync(_etcd.Client, first));

        backend.Healthy = true;
        var second = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), backend.Address, announcer);

        Assert.NotEqual(first, second);
        var output = announcer.Output;
        Assert.True(
            output.IndexOf(AnnouncerRun.Event("Failed"), StringComparison.Ordinal) < output.IndexOf(AnnouncerRun.Event("Withdrawn"), StringComparison.Ordinal),
            output);
    }

    [Fact]
    public async Task TcpCheck_BackendGone_Withdrawn()
    {
        var backend = await HealthBackend.StartAsync();
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, backend.Address, more: ["--check", "tcp"]));
        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), backend.Address, announcer);

        await backend.DisposeAsync();

        await AnnouncerRun.WaitGoneAsync(_etcd.Client, HostKey());
        Assert.False(announcer.HasExited);
    }

    [Fact]
    public async Task Lease_RevokedByOthers_RegisteredAgainWithNewLease()
    {
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9", more: ["--ttl", "3"]));
        var first = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), "127.0.0.1:9", announcer);

        await _etcd.Client.LeaseRevokeAsync(new Etcdserverpb.LeaseRevokeRequest { ID = first });

        await announcer.WaitForOutputAsync(AnnouncerRun.Event("LeaseLost"));
        var second = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), "127.0.0.1:9", announcer);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task SigTerm_KeyGoneBeforeExit_ThenExitZeroAfterDrain()
    {
        var args = AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9");
        args[args.IndexOf("--drain") + 1] = "4";
        await using var announcer = AnnouncerRun.Start(args);
        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), "127.0.0.1:9", announcer);

        announcer.Signal(TestProcess.SigTerm);

        await AnnouncerRun.WaitGoneAsync(_etcd.Client, HostKey());
        Assert.False(announcer.HasExited, "the announcer exited before (or as) its host key was deleted");
        Assert.Equal(0, await announcer.WaitForExitAsync());
        var output = announcer.Output;
        var withdrawn = output.IndexOf(AnnouncerRun.Event("WithdrawnOnStop"), StringComparison.Ordinal);
        var draining = output.IndexOf(AnnouncerRun.Event("Draining"), StringComparison.Ordinal);
        var drained = output.IndexOf(AnnouncerRun.Event("Drained"), StringComparison.Ordinal);
        Assert.True(withdrawn >= 0 && withdrawn < draining && draining < drained, output);
    }

    [Fact]
    public async Task SigInt_AlsoWithdrawsAndExitsZero()
    {
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9"));
        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), "127.0.0.1:9", announcer);

        announcer.Signal(2);

        Assert.Equal(0, await announcer.WaitForExitAsync());
        Assert.Null(await AnnouncerRun.ReadAsync(_etcd.Client, HostKey()));
    }

    [Fact]
    public async Task Kill9_KeyExpiresWithTheLease()
    {
        await using var announcer = AnnouncerRun.Start(AnnouncerRun.Args(_etcd.Url, _prefix, "127.0.0.1:9", more: ["--ttl", "2"]));
        var lease = await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey(), "127.0.0.1:9", announcer);

        announcer.Signal(TestProcess.SigKill);
        await announcer.WaitForExitAsync();

        Assert.NotNull(await AnnouncerRun.ReadAsync(_etcd.Client, HostKey()));
        await AnnouncerRun.WaitGoneAsync(_etcd.Client, HostKey(), TimeSpan.FromSeconds(15));
        Assert.Equal(-1, await AnnouncerRun.TimeToLiveAsync(_etcd.Client, lease));
    }

    [Fact]
    public async Task Environment_SuppliesTheOptions()
    {
        await using var announcer = AnnouncerRun.Start([], new Dictionary<string, string?>
        {
            ["ANNOUNCER_ETCD"] = _etcd.Url,
            ["ANNOUNCER_PREFIX"] = _prefix,
            ["ANNOUNCER_SERVICE"] = "web",
            ["ANNOUNCER_INSTANCE"] = "env",
            ["ANNOUNCER_ADDRESS"] = "127.0.0.1:9",
            ["ANNOUNCER_HOST_PORT"] = "9100",
        });

        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, HostKey("env"), "127.0.0.1:9", announcer);
        Assert.Equal("9100", await _etcd.GetAsync($"{_prefix}/web/host_port"));
    }
}
