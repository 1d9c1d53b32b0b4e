using Microsoft.Extensions.Logging.Abstractions;
using Router.Registry.Etcd;
using Router.Registry.Model;
using Router.Testing;

namespace Router.Registry.Tests;

/// <summary>An instance's leased registration (the announcer's etcd side) against a real etcd.</summary>
[Collection(EtcdGroup.Name)]
public sealed class LeasedRegistrationTests(EtcdFixture fixture) : IDisposable
{
    private const string Address = "10.0.0.5:8080";

    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly RegistryLayout _layout = new(EtcdFixture.NewPrefix());
    private readonly EtcdConnection _connection = new(new EtcdOptions { Endpoints = [new Uri(fixture.Etcd.Url)] }, NullLogger<EtcdConnection>.Instance);
    private readonly RecordingLogger<LeasedRegistration> _log = new();

    [Fact]
    public async Task ClaimHostAsync_EmptyRegistry_WritesServiceKeysAndHostKeyBoundToTheLease()
    {
        var registration = Registration(hostPort: 8081, isPrivate: true);

        var (lease, ttl) = await registration.GrantLeaseAsync(CancellationToken.None);
        var claim = await registration.ClaimHostAsync(lease, fresh: true, CancellationToken.None);

        Assert.Equal(new HostClaim(HostClaimOutcome.Write, "missing"), claim);
        Assert.Equal(10, ttl);
        Assert.Equal(10, registration.LeaseTtl);
        var host = (await _etcd.Client.GetAsync(HostKey)).Kvs.Single();
        Assert.Equal(Address, host.Value.ToStringUtf8());
        Assert.Equal(lease, host.Lease);
        Assert.Equal("http", await _etcd.GetAsync(_layout.Scheme("web")));
        Assert.Equal("8081", await _etcd.GetAsync(_layout.HostPort("web")));
        Assert.Equal("true", await _etcd.GetAsync(_layout.Private("web")));
        Assert.Equal(0, (await _etcd.Client.GetAsync(_layout.Scheme("web"))).Kvs.Single().Lease);
    }

    [Fact]
    public async Task ClaimHostAsync_AlreadyInPlace_HeldAndNothingWritten()
    {
        var registration = Registration();
        var (lease, _) = await registration.GrantLeaseAsync(CancellationToken.None);
        await registration.ClaimHostAsync(lease, fresh: true, CancellationToken.None);
        var revision = await _etcd.RevisionAsync();

        var claim = await registration.ClaimHostAsync(lease, fresh: false, CancellationToken.None);

        Assert.Equal(HostClaimOutcome.Held, claim.Outcome);
        Assert.Equal(revision, await _etcd.RevisionAsync());
    }

    [Fact]
    public async Task ClaimHostAsync_HostKeyDeletedByHand_PutBackOnTheNextCheck()
    {
        var registration = Registration();
        var (lease, _) = await registration.GrantLeaseAsync(CancellationToken.None);
        await registration.ClaimHostAsync(lease, fresh: true, CancellationToken.None);
        await _etcd.DeleteAsync(HostKey);

        var claim = await registration.ClaimHostAsync(lease, fresh: false, CancellationToken.None);

        Assert.Equal(new HostClaim(HostClaimOutcome.Write, "missing"), claim);
        Assert.Equal(Address, await _etcd.GetAsync(HostKey));
    }

    [Fact]
    public async Task ClaimHostAsync_HeldByAnotherLiveLeaseWithAnotherAddress_ConflictAndKeyLeftToIt()
    {
        var first = Registration(address: "10.0.0.9:80");
        var (firstLease, _) = await first.GrantLeaseAsync(CancellationToken.None);
        await first.ClaimHostAsync(firstLease, fresh: true, CancellationToken.None);
        var second = Registration();
        var (secondLease, _) = await second.GrantLeaseAsync(CancellationToken.None);

        var claim = await second.ClaimHostAsync(secondLease, fresh: true, CancellationToken.None);

        Assert.Equal(new HostClaim(HostClaimOutcome.Conflict, HolderAddress: "10.0.0.9:80", HolderLease: firstLease), claim);
        var host = (await _etcd.Client.GetAsync(HostKey)).Kvs.Single();
        Assert.Equal("10.0.0.9:80", host.Value.ToStringUtf8());
        Assert.Equal(firstLease, host.Lease);
    }

    [Fact]
    public async Task ClaimHostAsync_ServiceKeyDiffers_ReportedOnceOnCheckRewrittenWhenFresh()
    {
        var registration = Registration();
        var (lease, _) = await registration.GrantLeaseAsync(CancellationToken.None);
        await registration.ClaimHostAsync(lease, fresh: true, CancellationToken.None);
        await _etcd.PutAsync(_layout.Scheme("web"), "https");

        await registration.ClaimHostAsync(lease, fresh: false, CancellationToken.None);
        await registration.ClaimHostAsync(lease, fresh: false, CancellationToken.None);

        Assert.Equal("https", await _etcd.GetAsync(_layout.Scheme("web")));
        Assert.Single(_log.Lines, l => l.Contains("not http as this announcer was started with", StringComparison.Ordinal));

        await registration.ClaimHostAsync(lease, fresh: true, CancellationToken.None);

        Assert.Equal("http", await _etcd.GetAsync(_layout.Scheme("web")));
    }

    [Fact]
    public async Task KeepAliveAsync_StopSignalledAfterACheck_HealthChangedAndTtlRenewed()
    {
        var registration = Registration(ttlSeconds: 3);
        var (lease, _) = await registration.GrantLeaseAsync(CancellationToken.None);
        await registration.ClaimHostAsync(lease, fresh: true, CancellationToken.None);
        var granted = registration.LastAnswer;
        var stop = new TaskCompletionSource();
        var checks = 0;

        var outcome = await registration.KeepAliveAsync(
            lease,
            stop.Task,
            _ =>
            {
                // The check runs once a keepalive period; the stop is seen after the next answer.
                checks++;
                stop.TrySetResult();
                return Task.CompletedTask;
            },
            CancellationToken.None);

        Assert.Equal(KeepAliveOutcome.HealthChanged, outcome);
        Assert.Equal(1, checks);
        Assert.True(registration.LastAnswer > granted);
        Assert.Equal(Address, await _etcd.GetAsync(HostKey));
    }

    [Fact]
    public async Task KeepAliveAsync_LeaseRevokedUnderneath_LeaseLost()
    {
        var registration = Registration();
        var (lease, _) = await registration.GrantLeaseAsync(CancellationToken.None);
        await registration.ClaimHostAsync(lease, fresh: true, CancellationToken.None);
        await _etcd.Client.LeaseRevokeAsync(new Etcdserverpb.LeaseRevokeRequest { ID = lease });

        var outcome = await registration.KeepAliveAsync(lease, new TaskCompletionSource().Task, _ => Task.CompletedTask, CancellationToken.None);

        Assert.Equal(KeepAliveOutcome.LeaseLost, outcome);
        Assert.Null(await _etcd.GetAsync(HostKey));
    }

    [Fact]
    public async Task RevokeAsync_Registered_HostKeyGoesServiceKeysStay()
    {
        var registration = Registration();
        var (lease, _) = await registration.GrantLeaseAsync(CancellationToken.None);
        await registration.ClaimHostAsync(lease, fresh: true, CancellationToken.None);

        Assert.True(await registration.RevokeAsync(lease, TimeSpan.FromSeconds(5), CancellationToken.None));

        Assert.Null(await _etcd.GetAsync(HostKey));
        Assert.Equal("http", await _etcd.GetAsync(_layout.Scheme("web")));
        Assert.False(await _connection.IsLeaseAliveAsync(lease, CancellationToken.None));
    }

    [Fact]
    public async Task RevokeAsync_LeaseAlreadyGone_TrueWithoutComplaint()
    {
        var registration = Registration();
        var (lease, _) = await registration.GrantLeaseAsync(CancellationToken.None);
        Assert.True(await registration.RevokeAsync(lease, TimeSpan.FromSeconds(5), CancellationToken.None));

        Assert.True(await registration.RevokeAsync(lease, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("Could not revoke", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RevokeAsync_EtcdUnreachable_FalseAfterTheDeadlineAndLogged()
    {
        using var away = Unreachable();
        var registration = new LeasedRegistration(away, Spec(Address, null, false, 10), _layout, TimeProvider.System, _log);

        Assert.False(await registration.RevokeAsync(12345, TimeSpan.FromSeconds(1), CancellationToken.None));

        Assert.Contains(_log.Lines, l => l.Contains("Could not revoke lease 12345", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GrantLeaseAsync_EtcdUnreachable_ThrowsATransientFailure()
    {
        using var away = Unreachable();
        var registration = new LeasedRegistration(away, Spec(Address, null, false, 10), _layout, TimeProvider.System, _log);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => registration.GrantLeaseAsync(CancellationToken.None));

        Assert.True(EtcdFailure.IsTransient(e), e.ToString());
        Assert.False(EtcdFailure.IsLeaseNotFound(e));
    }

    public void Dispose() => _connection.Dispose();

    private string HostKey => _layout.Host("web", "1");

    private LeasedRegistration Registration(string address = Address, int? hostPort = null, bool isPrivate = false, int ttlSeconds = 10) =>
        new(_connection, Spec(address, hostPort, isPrivate, ttlSeconds), _layout, TimeProvider.System, _log);

    /// <summary>A connection to a port nobody listens on: every call fails as with etcd down.</summary>
    private static EtcdConnection Unreachable() => new(
        new EtcdOptions { Endpoints = [new Uri($"http://127.0.0.1:{Ports.FreeTcp()}")], CallTimeout = TimeSpan.FromMilliseconds(300) },
        NullLogger<EtcdConnection>.Instance);

    private static HostRegistration Spec(string address, int? hostPort, bool isPrivate, int ttlSeconds) => new()
    {
        Service = "web",
        Instance = "1",
        Address = address,
        Scheme = ServiceScheme.Http,
        HostPort = hostPort,
        Private = isPrivate,
        TtlSeconds = ttlSeconds,
    };
}
