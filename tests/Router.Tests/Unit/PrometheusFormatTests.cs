using System.Text;
using Router.Admin;

namespace Router.Tests;

/// <summary>The header and escaping every /metrics renderer shares, read back with the strict test reader.</summary>
public sealed class PrometheusFormatTests
{
    [Fact]
    public void Header_ThenSample_HelpAndTypeBeforeTheSample()
    {
        var text = new StringBuilder();

        PrometheusFormat.Header(text, "router_x_total", "counter", "Things counted.");
        text.Append("router_x_total 3\n");

        Assert.Equal("# HELP router_x_total Things counted.\n# TYPE router_x_total counter\nrouter_x_total 3\n", text.ToString());
        Assert.Equal(3, PrometheusText.Parse(text.ToString()).Single().Value);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\"b", "a\\\"b")]
    [InlineData("a\\b", "a\\\\b")]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("\\\"\n", "\\\\\\\"\\n")]
    public void Escape_SpecialCharacters_EscapedPerTheFormat(string value, string escaped)
    {
        Assert.Equal(escaped, PrometheusFormat.Escape(value));
    }

    [Fact]
    public void Escape_AnyLabelValue_ReadsBackUnchanged()
    {
        const string value = "odd \"id\" \\ with\nnewline";
        var text = new StringBuilder();
        PrometheusFormat.Header(text, "router_y", "gauge", "A gauge.");
        text.Append($"router_y{{instance=\"{PrometheusFormat.Escape(value)}\"}} 1\n");

        Assert.Equal(value, PrometheusText.Parse(text.ToString()).Single().Labels["instance"]);
    }
}
