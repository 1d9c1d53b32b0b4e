using System.Globalization;

namespace BenchTool;

/// <summary>Figures printed for the shell scripts, and percentiles of a sample.</summary>
internal static class Results
{
    public static void Print(string name, double value) =>
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {name}={value:0.###}"));

    /// <summary>Nearest-rank percentile (p in 0..100) of an unsorted sample.</summary>
    public static double Percentile(IReadOnlyList<double> sample, double p)
    {
        if (sample.Count == 0)
        {
            return double.NaN;
        }

        var sorted = sample.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static void PrintDistribution(string name, IReadOnlyList<double> sample)
    {
        Print($"{name}_p50_ms", Percentile(sample, 50));
        Print($"{name}_p90_ms", Percentile(sample, 90));
        Print($"{name}_p99_ms", Percentile(sample, 99));
        Print($"{name}_max_ms", sample.Count == 0 ? double.NaN : sample.Max());
        Print($"{name}_count", sample.Count);
    }
}
