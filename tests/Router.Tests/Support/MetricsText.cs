using System.Globalization;

namespace Router.Tests;

/// <summary>Reads one series from the Prometheus text of <c>/metrics</c>.</summary>
internal static class MetricsText
{
    /// <summary>The value of the series written exactly as <paramref name="series"/> (name and labels); 0 when absent.</summary>
    public static double Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
