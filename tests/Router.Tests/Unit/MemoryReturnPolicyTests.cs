using Router.Hosting;

namespace Router.Tests;

public sealed class MemoryReturnPolicyTests
{
    private const long Mb = 1024 * 1024;

    private static readonly TimeSpan Spacing = TimeSpan.FromSeconds(60);

    [Fact]
    public void BurstGrewAndPassed_Returns()
    {
        var policy = new MemoryReturnPolicy(16 * Mb, Spacing);

        Assert.False(policy.Sample(10 * Mb, 100, TimeSpan.FromSeconds(10)));
        Assert.False(policy.Sample(40 * Mb, 4100, TimeSpan.FromSeconds(20)));   // the burst: memory in use
        Assert.True(policy.Sample(38 * Mb, 100, TimeSpan.FromSeconds(30)));     // it has gone
    }

    [Fact]
    public void BurstBetweenTwoSamples_StillReturns()
    {
        var policy = new MemoryReturnPolicy(16 * Mb, Spacing);

        Assert.False(policy.Sample(10 * Mb, 100, TimeSpan.FromSeconds(10)));
        Assert.True(policy.Sample(30 * Mb, 110, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void SteadyLoad_HoweverLarge_NeverReturns()
    {
        var policy = new MemoryReturnPolicy(16 * Mb, Spacing);
        policy.Sample(10 * Mb, 100, TimeSpan.Zero);

        for (var second = 10; second < 600; second += 10)
        {
            Assert.False(policy.Sample(60 * Mb, 3000 + (second % 20), TimeSpan.FromSeconds(second)));
        }
    }

    [Fact]
    public void GrowthBelowThreshold_DoesNotReturn()
    {
        var policy = new MemoryReturnPolicy(16 * Mb, Spacing);
        policy.Sample(10 * Mb, 100, TimeSpan.Zero);
        policy.Sample(25 * Mb, 2000, TimeSpan.FromSeconds(10));

        Assert.False(policy.Sample(25 * Mb, 100, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void AfterAReturn_NextOnlyAfterSpacing_AndFromTheNewFloor()
    {
        var policy = new MemoryReturnPolicy(16 * Mb, Spacing);
        policy.Sample(10 * Mb, 100, TimeSpan.Zero);
        policy.Sample(40 * Mb, 4000, TimeSpan.FromSeconds(10));
        Assert.True(policy.Sample(40 * Mb, 100, TimeSpan.FromSeconds(20)));
        policy.Returned(12 * Mb, 100, TimeSpan.FromSeconds(20));

        // A second burst right away: not before the spacing has passed.
        policy.Sample(40 * Mb, 4000, TimeSpan.FromSeconds(30));
        Assert.False(policy.Sample(40 * Mb, 100, TimeSpan.FromSeconds(40)));
        Assert.True(policy.Sample(40 * Mb, 100, TimeSpan.FromSeconds(80)));

        // Measured from what the last return left (12 MB), not from the first floor.
        var again = new MemoryReturnPolicy(16 * Mb, Spacing);
        again.Sample(10 * Mb, 100, TimeSpan.Zero);
        again.Returned(30 * Mb, 100, TimeSpan.Zero);
        again.Sample(40 * Mb, 1000, TimeSpan.FromSeconds(70));
        Assert.False(again.Sample(40 * Mb, 100, TimeSpan.FromSeconds(80)));
    }
}
