using System.Diagnostics;
using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>A backend that accepts connections and never answers HTTP: withdrawn on the check schedule.</summary>
[Collection(EtcdTests.Name)]
public class HungCheckTests(EtcdFixture fixture)
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();
    private volatile bool _hang;

    [Fact]
    public async Task Check_BackendAcceptsButNeverAnswers_WithdrawnWithinAFewIntervals()
    {
        const double interval = 2;
        await using var backend = RawHttpBackend.Start(async exchange =>
        {
            if (_hang)
            {
                // Reads the request, says nothing, keeps the connection: what a wedged server does.
                await Task.Delay(Timeout.Infinite, exchange.Stopping);
            }

            await exchange.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        });
        var args = AnnouncerRun.Args(_etcd.Url, _prefix, backend.Address, more: ["--check", $"http://{backend.Address}/health"]);
        args[args.IndexOf("--interval") + 1] = "2";
        await using var announcer = AnnouncerRun.Start(args);
        var hostKey = $"{_prefix}/web/hosts/1";
        await AnnouncerRun.WaitRegisteredAsync(_etcd.Client, hostKey, backend.Address, announcer);

        _hang = true;
        var since = Stopwatch.StartNew();
        await AnnouncerRun.WaitGoneAsync(_etcd.Client, hostKey, TimeSpan.FromSeconds(60));

        // On the fixed schedule three overdue checks take 3 to 4 intervals; the bound is generous for a busy
        // machine. (Before, each check waited out its timeout and then a whole interval: 5 to 7 intervals.)
        Assert.True(since.Elapsed < TimeSpan.FromSeconds(6 * interval), $"withdrawn after {since.Elapsed.TotalSeconds:0.0} s with --interval {interval}");
        // Logged once the revoke has returned, just after the key went.
        await announcer.WaitForOutputAsync(AnnouncerRun.Event("Withdrawn"));
        Assert.False(announcer.HasExited);
    }
}
