namespace Router.Tests;

/// <summary>The test reader of /metrics must itself catch what it is there to catch.</summary>
public sealed class PrometheusTextTests
{
    [Fact]
    public void Parse_ValidExposition_SamplesWithUnescapedLabels()
    {
        var samples = PrometheusText.Parse("# HELP up x\n# TYPE up gauge\nup{service=\"a\\\"b\",instance=\"1\"} 1\nup{service=\"a\",instance=\"1\"} NaN\n");

        Assert.Equal(2, samples.Count);
        Assert.Equal("a\"b", samples[0].Labels["service"]);
        Assert.True(double.IsNaN(samples[1].Value));
    }

    [Theory]
    [InlineData("# TYPE up gauge\nup{service=\"demo\",instance=\"1\"} 1\nup{service=\"demo\",instance=\"1\"} 0\n", "duplicate series")]
    [InlineData("# TYPE up gauge\nup{instance=\"1\",service=\"demo\"} 1\nup{service=\"demo\",instance=\"1\"} 0\n", "duplicate series")]
    [InlineData("up 1\n", "no # TYPE")]
    [InlineData("# TYPE up gauge\n# TYPE up gauge\nup 1\n", "declared twice")]
    [InlineData("# TYPE up gauge\nup{service=demo} 1\n", "bad label")]
    [InlineData("# TYPE up gauge\nup one\n", "bad value")]
    public void Parse_InvalidExposition_Throws(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => PrometheusText.Parse(text));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }
}
