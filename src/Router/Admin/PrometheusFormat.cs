using System.Globalization;
using System.Text;

namespace Router.Admin;

/// <summary>
/// The parts of the Prometheus text exposition format (0.0.4) every renderer of <c>GET /metrics</c> needs: the
/// family header and label-value escaping. One place, so the router's, the DNS responder's and the certificates'
/// series cannot disagree on them.
/// </summary>
internal static class PrometheusFormat
{
    /// <summary>Writes <c># HELP</c> and <c># TYPE</c> for a metric family; they come before its first sample.</summary>
    public static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");

    /// <summary>A label value as the format wants it between quotes: backslash, quote and newline escaped.</summary>
    public static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
