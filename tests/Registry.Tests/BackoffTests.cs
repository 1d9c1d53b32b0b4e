namespace Router.Registry.Tests;

public sealed class BackoffTests
{
    [Fact]
    public void Next_DoublesUpToTheLongest_ThenStays()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));

        var pauses = Enumerable.Range(0, 8).Select(_ => backoff.Next().TotalMilliseconds).ToList();

        Assert.Equal([100, 200, 400, 800, 1600, 2000, 2000, 2000], pauses);
    }

    [Fact]
    public void Current_IsWhatNextReturns_WithoutAdvancing()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        backoff.Next();

        Assert.Equal(TimeSpan.FromSeconds(2), backoff.Current);
        Assert.Equal(TimeSpan.FromSeconds(2), backoff.Current);
        Assert.Equal(TimeSpan.FromSeconds(2), backoff.Next());
        Assert.Equal(TimeSpan.FromSeconds(4), backoff.Current);
    }

    [Fact]
    public void Reset_AfterFailures_StartsOverAtTheFirst()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1));
        for (var i = 0; i < 20; i++)
        {
            backoff.Next();
        }

        backoff.Reset();

        Assert.Equal(TimeSpan.FromMilliseconds(5), backoff.Next());
        Assert.Equal(TimeSpan.FromMilliseconds(10), backoff.Next());
    }

    [Fact]
    public void Next_CapNotAPowerOfTwoOfTheFirst_EndsExactlyAtTheCap()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(1000));

        Assert.Equal([300, 600, 1000, 1000], Enumerable.Range(0, 4).Select(_ => backoff.Next().TotalMilliseconds));
    }

    [Fact]
    public void Next_HugeCap_DoesNotOverflow()
    {
        var backoff = new Backoff(TimeSpan.FromDays(1), TimeSpan.MaxValue);

        for (var i = 0; i < 100; i++)
        {
            Assert.True(backoff.Next() > TimeSpan.Zero);
        }

        Assert.Equal(TimeSpan.MaxValue, backoff.Current);
    }

    [Theory]
    [InlineData(0, 1000)]
    [InlineData(-5, 1000)]
    [InlineData(500, 100)]
    public void Constructor_NonPositiveFirstOrCapBelowFirst_Throws(int firstMs, int longestMs)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(TimeSpan.FromMilliseconds(firstMs), TimeSpan.FromMilliseconds(longestMs)));
    }
}
