using Microsoft.Extensions.Time.Testing;
using Router.Registry.Model;
using Router.Routing;

namespace Router.Tests;

/// <summary>
/// The passive health that decides the log lines: a run of connect failures has one first failure (the
/// warning) and one success that ends it (the recovery line), however many attempts there were.
/// </summary>
public sealed class DestinationHealthTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly Destination _destination = new(new ServiceHost("1", "10.0.0.1", 80, 1));

    [Fact]
    public void ReportSuccess_NeverFailed_NotARecovery()
    {
        Assert.False(_destination.ReportSuccess());
        Assert.False(_destination.ReportSuccess());
    }

    [Fact]
    public void ReportConnectFailure_RunOfFailures_OnlyTheFirstIsFirst()
    {
        Assert.True(_destination.ReportConnectFailure(_time));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(_destination.ReportConnectFailure(_time));
        Assert.False(_destination.ReportConnectFailure(_time));
        Assert.Equal(3, _destination.ConsecutiveFailures);
    }

    [Fact]
    public void ReportSuccess_AfterFailures_OneRecoveryThenNone()
    {
        _destination.ReportConnectFailure(_time);
        _destination.ReportConnectFailure(_time);

        Assert.True(_destination.ReportSuccess());
        Assert.False(_destination.ReportSuccess());
        Assert.True(_destination.IsUsable(_time.GetTimestamp()));
    }

    [Fact]
    public void ReportConnectFailure_AfterRecovery_FirstAgain()
    {
        _destination.ReportConnectFailure(_time);
        _destination.ReportSuccess();

        // A new outage is a new run: its own warning, then its own recovery.
        Assert.True(_destination.ReportConnectFailure(_time));
        Assert.True(_destination.ReportSuccess());
    }

    [Fact]
    public async Task ReportSuccess_ManyAtOnceAfterFailure_ExactlyOneRecovery()
    {
        _destination.ReportConnectFailure(_time);
        using var start = new Barrier(8);
        // Threads of their own (LongRunning), so all 8 wait at the barrier without starving the thread pool.
        var recoveries = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                return _destination.ReportSuccess();
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)));

        Assert.Single(recoveries, r => r);
    }
}
