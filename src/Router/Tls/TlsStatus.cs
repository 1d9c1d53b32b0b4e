using System.Globalization;
using System.Text;
using Router.Registry.Model;
using static Router.Metrics.PrometheusFormat;

namespace Router.Tls;

/// <summary>What the admin API shows of HTTPS: the certificates served and the problems (https/tls services without --https, unreadable certificate files).</summary>
internal sealed class TlsStatus(HttpsProblems httpsProblems, CertificateStore? certificates = null)
{
    /// <summary>The certificates served, the one expiring first first; null without <c>--https</c>.</summary>
    public IReadOnlyList<CertificateInfo>? Certificates => certificates?.Certificates;

    public IEnumerable<RegistryProblem> Problems => [.. httpsProblems.Current, .. certificates?.Problems ?? []];

    /// <summary>The Prometheus text of the certificates' expiry, one series per name served.</summary>
    public string RenderMetrics()
    {
        var text = new StringBuilder();
        Header(text, "router_tls_certificate_not_after_seconds", "gauge", "When the certificate served for a name expires, in Unix seconds.");
        foreach (var (name, notAfter) in certificates?.ServedNames ?? [])
        {
            text.Append(CultureInfo.InvariantCulture, $"router_tls_certificate_not_after_seconds{{name=\"{Escape(name)}\"}} {notAfter.ToUnixTimeSeconds()}\n");
        }

        return text.ToString();
    }
}
