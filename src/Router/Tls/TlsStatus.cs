using Router.Registry.Model;

namespace Router.Tls;

/// <summary>What the admin API shows of HTTPS: the certificates served and the problems (https/tls services without --https, unreadable certificate files).</summary>
internal sealed class TlsStatus(HttpsProblems httpsProblems, CertificateStore? certificates = null)
{
    /// <summary>The certificates served, the one expiring first first; null without <c>--https</c>.</summary>
    public IReadOnlyList<CertificateInfo>? Certificates => certificates?.Certificates;

    public IEnumerable<RegistryProblem> Problems => [.. httpsProblems.Current, .. certificates?.Problems ?? []];

    /// <summary>Each name served and when its certificate expires; none without <c>--https</c>.</summary>
    public IEnumerable<(string Name, DateTimeOffset NotAfter)> ServedNames => certificates?.ServedNames ?? [];
}
