using System.Globalization;
using System.Text.RegularExpressions;

namespace Router.Deploy.Tests;

/// <summary>
/// The pure part of running a doc's shell blocks: the production addresses the docs show, replaced the same way
/// in every block (and in its expected output and its ready check) by the test's loopback ones, and the
/// comparison of what a block printed with the output the doc shows.
/// </summary>
internal sealed partial class DocRun
{
    private readonly Dictionary<string, string> _backends;

    /// <param name="etcdUrl">the test etcd, for <c>http://10.0.0.1:2379</c> and <c>http://127.0.0.1:2379</c></param>
    /// <param name="httpPort">the running router's HTTP port, for <c>http://127.0.0.1/</c> (port 80)</param>
    /// <param name="adminPort">the running router's admin port, for <c>127.0.0.1:9090</c></param>
    /// <param name="dnsPort">the running router's DNS port on 127.0.0.1, for <c>@172.17.42.1</c> (port 53)</param>
    /// <param name="upstreamPort">the stand-in upstream resolver on 127.0.0.1, for <c>8.8.8.8</c> and <c>8.8.4.4</c></param>
    /// <param name="scratch">the block's directory, for <c>/etc/router/</c></param>
    /// <param name="backends">a loopback backend for each instance address (<c>10.0.0.5:8080</c>) the doc uses</param>
    public DocRun(string etcdUrl, int httpPort, int adminPort, int dnsPort, int upstreamPort, string scratch, IReadOnlyDictionary<string, string> backends)
    {
        EtcdUrl = etcdUrl;
        HttpPort = httpPort;
        AdminPort = adminPort;
        DnsPort = dnsPort;
        UpstreamPort = upstreamPort;
        Scratch = scratch;
        _backends = new Dictionary<string, string>(backends, StringComparer.Ordinal);
    }

    public string EtcdUrl { get; }

    public int HttpPort { get; }

    public int AdminPort { get; }

    public int DnsPort { get; }

    public int UpstreamPort { get; }

    public string Scratch { get; }

    /// <summary>
    /// The instance addresses (<c>10.0.0.N:PORT</c>, other than etcd's 10.0.0.1:2379) a doc's blocks use; one with a
    /// port out of range is an example of a bad entry and stays as written.
    /// </summary>
    public static IEnumerable<string> InstanceAddresses(string text) =>
        InstanceAddress().Matches(text).Select(m => m.Value)
            .Where(a => a != "10.0.0.1:2379" && int.Parse(a[(a.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture) <= 65535)
            .Distinct(StringComparer.Ordinal);

    /// <summary>The same replacements for every block, its ready check and its expected output.</summary>
    public string Substitute(string text)
    {
        var port = (int p) => p.ToString(CultureInfo.InvariantCulture);

        // dig @172.17.42.1 NAME: the responder on its test port (dig takes -p anywhere on the line).
        text = text.Replace("@172.17.42.1", $"@127.0.0.1 -p {port(DnsPort)}", StringComparison.Ordinal);
        text = text.Replace("172.17.42.1:53", $"127.0.0.1:{port(DnsPort)}", StringComparison.Ordinal);

        // Nothing a doc runs may ask Google's resolvers: the upstreams are the stand-in.
        text = PublicResolver().Replace(text, $"127.0.0.1:{port(UpstreamPort)}");
        text = EtcdAddress().Replace(text, EtcdUrl);
        text = text.Replace("127.0.0.1:9090", $"127.0.0.1:{port(AdminPort)}", StringComparison.Ordinal);

        // http://127.0.0.1/… is the router's port 80 on the node.
        text = PortlessLoopbackUrl().Replace(text, $"http://127.0.0.1:{port(HttpPort)}");
        text = InstanceAddress().Replace(text, m => _backends.TryGetValue(m.Value, out var backend) ? backend : m.Value);
        text = text.Replace("/etc/router/", Path.Combine(Scratch, "etc", "router") + "/", StringComparison.Ordinal);
        return text;
    }

    /// <summary>
    /// Whether <paramref name="output"/> shows <paramref name="expected"/>: every non-blank line of it, in order,
    /// each within one line of the output, whitespace runs counted as one space (dig aligns with tabs). A line
    /// <c>…</c> stands for lines left out and matches nothing; <c>…</c> within a line matches any text there
    /// (a revision, a time). Returns the first expected line not found.
    /// </summary>
    public static string? FirstMissingLine(string expected, string output)
    {
        var lines = output.Split('\n').Select(Squeeze).ToList();
        var at = 0;
        foreach (var want in expected.Split('\n').Select(Squeeze).Where(l => l.Length > 0 && l != "…"))
        {
            var pattern = new Regex(string.Join(".*", want.Split('…').Select(Regex.Escape)), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            var found = lines.FindIndex(at, pattern.IsMatch);
            if (found < 0)
            {
                return want;
            }

            at = found + 1;
        }

        return null;
    }

    private static string Squeeze(string line) => Whitespace().Replace(line, " ").Trim();

    [GeneratedRegex(@"\b8\.8\.[48]\.[48](:53)?\b")]
    private static partial Regex PublicResolver();

    [GeneratedRegex(@"https?://(10\.0\.0\.1|127\.0\.0\.1):2379")]
    private static partial Regex EtcdAddress();

    [GeneratedRegex(@"http://127\.0\.0\.1(?=[/\s'""]|$)")]
    private static partial Regex PortlessLoopbackUrl();

    [GeneratedRegex(@"\b10\.0\.0\.\d{1,3}:\d{1,5}\b")]
    private static partial Regex InstanceAddress();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
