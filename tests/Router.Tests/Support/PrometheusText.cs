using System.Globalization;
using System.Text;

namespace Router.Tests;

/// <summary>
/// A strict reader of the Prometheus text exposition format (0.0.4), for tests: every sample line parsed,
/// label values unescaped, and a duplicate series (same name, same label set), a sample before its
/// <c># TYPE</c>, or a metric family declared twice is an error, as Prometheus itself rejects such a scrape.
/// </summary>
public static class PrometheusText
{
    public static IReadOnlyList<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        var series = new HashSet<string>(StringComparer.Ordinal);
        var families = new HashSet<string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var family = line["# TYPE ".Length..].Split(' ')[0];
                if (!families.Add(family))
                {
                    throw new FormatException($"line {lineNumber}: family {family} declared twice");
                }

                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            var sample = ParseSample(line, lineNumber);
            if (!families.Any(f => sample.Name == f || (sample.Name.StartsWith(f + "_", StringComparison.Ordinal) && sample.Name[(f.Length + 1)..] is "bucket" or "sum" or "count")))
            {
                throw new FormatException($"line {lineNumber}: {sample.Name} has no # TYPE before it");
            }

            var identity = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
            if (!series.Add(identity))
            {
                throw new FormatException($"line {lineNumber}: duplicate series {identity}");
            }

            samples.Add(sample);
        }

        return samples;
    }

    private static Sample ParseSample(string line, int lineNumber)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }

        if (i == 0 || char.IsAsciiDigit(line[0]))
        {
            throw new FormatException($"line {lineNumber}: no metric name in '{line}'");
        }

        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var start = i;
                while (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_')
                {
                    i++;
                }

                var label = line[start..i];
                if (label.Length == 0 || line[i] != '=' || line[i + 1] != '"')
                {
                    throw new FormatException($"line {lineNumber}: bad label in '{line}'");
                }

                i += 2;
                var value = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] switch
                        {
                            'n' => '\n',
                            '\\' => '\\',
                            '"' => '"',
                            _ => throw new FormatException($"line {lineNumber}: bad escape in '{line}'"),
                        });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }

                    i++;
                }

                i++;
                if (!labels.TryAdd(label, value.ToString()))
                {
                    throw new FormatException($"line {lineNumber}: label {label} twice in '{line}'");
                }

                if (line[i] == ',')
                {
                    i++;
                }
            }

            i++;
        }

        var rest = line[i..].Trim().Split(' ');
        if (rest.Length is < 1 or > 2 || !TryParseValue(rest[0], out var number))
        {
            throw new FormatException($"line {lineNumber}: bad value in '{line}'");
        }

        return new Sample(name, labels, number);
    }

    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "NaN":
                value = double.NaN;
                return true;
            case "+Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
}
