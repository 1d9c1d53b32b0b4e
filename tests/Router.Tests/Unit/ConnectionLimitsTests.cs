using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Router.Hosting;
using Router.Loops;
using Router.Metrics;
using Router.Tcp;

namespace Router.Tests;

/// <summary>The limits derived from the open-file limit, the accept back-off and the log throttle: pure logic.</summary>
public sealed class ConnectionLimitsTests
{
    private const string ProcLimits = """
        Limit                     Soft Limit           Hard Limit           Units
        Max cpu time              unlimited            unlimited            seconds
        Max processes             96362                96362                processes
        Max open files            1024                 524288               files
        Max locked memory         8388608              8388608              bytes
        """;

    [Fact]
    public void ParseOpenFiles_ProcLimits_SoftLimit() => Assert.Equal(1024, FileDescriptorBudget.ParseOpenFiles(ProcLimits));

    [Theory]
    [InlineData("Max open files            unlimited            unlimited            files\n")]
    [InlineData("Max processes             96362                96362                processes\n")]
    [InlineData("")]
    public void ParseOpenFiles_UnlimitedOrMissing_Null(string text) => Assert.Null(FileDescriptorBudget.ParseOpenFiles(text));

    [Fact]
    public void ForThisProcess_OnLinux_ReadsALimit() => Assert.True(FileDescriptorBudget.ForThisProcess().OpenFiles > 0);

    [Fact]
    public void Budget_QuarterOfWhatIsAboveTheReserve()
    {
        var budget = new FileDescriptorBudget(1024);

        // (1024 - 256) / 4: half the rest for each kind, two descriptors per connection.
        Assert.Equal(192, budget.TcpRelays);
        Assert.Equal(192, budget.HttpConnections);
        Assert.Null(new FileDescriptorBudget((long?)null).TcpRelays);
        Assert.Equal(1, new FileDescriptorBudget(100).TcpRelays);
    }

    [Fact]
    public void From_TcpLimitAboveBudget_LoweredWithOneWarning()
    {
        var logger = new ListLogger();

        var limits = ConnectionLimits.From(new RouterOptions { TcpMaxConnections = 10_000 }, new FileDescriptorBudget(1024), logger);

        Assert.Equal(192, limits.TcpPerPort);
        Assert.Equal(192, limits.TcpTotal);
        var warning = Assert.Single(logger.Lines, l => l.Level == LogLevel.Warning);
        Assert.Contains("--tcp-max-connections 10000", warning.Text, StringComparison.Ordinal);
        Assert.Contains("lowered to 192", warning.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void From_LimitsWithinBudget_KeptWithoutWarning()
    {
        var logger = new ListLogger();

        var limits = ConnectionLimits.From(new RouterOptions { TcpMaxConnections = 100, MaxHttpConnections = 50 }, new FileDescriptorBudget(65_536), logger);

        Assert.Equal(new ConnectionLimits(100, 16_320, 50), limits);
        Assert.DoesNotContain(logger.Lines, l => l.Level == LogLevel.Warning);
    }

    [Fact]
    public void From_HttpLimitAboveBudget_Lowered_DefaultDerived()
    {
        var logger = new ListLogger();

        Assert.Equal(192, ConnectionLimits.From(new RouterOptions { TcpMaxConnections = 10, MaxHttpConnections = 5000 }, new FileDescriptorBudget(1024), logger).HttpPerPort);
        Assert.Contains(logger.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("--max-http-connections 5000", StringComparison.Ordinal));
        Assert.Equal(192, ConnectionLimits.From(new RouterOptions { TcpMaxConnections = 10 }, new FileDescriptorBudget(1024), logger).HttpPerPort);
        Assert.Null(ConnectionLimits.From(new RouterOptions(), new FileDescriptorBudget((long?)null), logger).HttpPerPort);
    }

    [Fact]
    public void AcceptBackoff_DoublesFrom5msTo1s_ResetStartsOver()
    {
        var backoff = TcpProxyListener.NewAcceptBackoff();

        var pauses = Enumerable.Range(0, 10).Select(_ => backoff.Next().TotalMilliseconds).ToList();
        backoff.Reset();

        Assert.Equal([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000], pauses);
        Assert.Equal(TimeSpan.FromMilliseconds(5), backoff.Next());
    }

    [Fact]
    public void LogThrottle_OneLinePerInterval_CountsTheRest()
    {
        var time = new FakeTimeProvider();
        var throttle = new LogThrottle(time, TimeSpan.FromSeconds(10));

        Assert.True(throttle.TryEnter(out var first));
        var held = Enumerable.Range(0, 1000).Count(_ => !throttle.TryEnter(out _));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(throttle.TryEnter(out var suppressed));

        Assert.Equal(0, first);
        Assert.Equal(1000, held);
        Assert.Equal(1000, suppressed);
    }

    [Fact]
    public void TcpLimits_GlobalBudget_TakenAndReturned()
    {
        var limits = new TcpLimits(TimeSpan.FromHours(1), 10, 2, new TcpCounters());

        Assert.True(limits.TryTakeGlobal());
        Assert.True(limits.TryTakeGlobal());
        Assert.False(limits.TryTakeGlobal());
        limits.ReturnGlobal();
        Assert.True(limits.TryTakeGlobal());
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}
