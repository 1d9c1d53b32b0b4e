using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Router.Tls;

/// <summary>
/// The HTTPS certificates from <c>--certs</c>: every <c>NAME.crt</c> (or <c>NAME.pem</c>) with its
/// <c>NAME.key</c>, PEM. A handshake gets the certificate whose names match the SNI host exactly, then by
/// wildcard (<c>*.example.com</c>), else the first one by file name. The folder is read again when a file
/// in it changes, so renewed certificates are served without a restart.
/// </summary>
internal sealed partial class CertificateStore : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(10);

    private readonly string _folder;
    private readonly ILogger _logger;
    private readonly ITimer _poll;
    private volatile Snapshot _current = new(FrozenDictionary<string, X509Certificate2>.Empty, null, "");

    public CertificateStore(string folder, TimeProvider time, ILogger<CertificateStore> logger)
    {
        _folder = folder;
        _logger = logger;
        Reload();
        _poll = time.CreateTimer(_ => Reload(), null, PollInterval, PollInterval);
    }

    public int Count => _current.ByName.Values.Distinct().Count();

    /// <summary>The certificate for an SNI host name (any case); the default one when nothing matches.</summary>
    public X509Certificate2? Select(string? host)
    {
        var snapshot = _current;
        if (!string.IsNullOrEmpty(host))
        {
            var name = host.TrimEnd('.').ToLowerInvariant();
            if (snapshot.ByName.TryGetValue(name, out var exact))
            {
                return exact;
            }

            var dot = name.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && snapshot.ByName.TryGetValue("*" + name[dot..], out var wildcard))
            {
                return wildcard;
            }
        }

        return snapshot.Default;
    }

    public void Dispose() => _poll.Dispose();

    /// <summary>Reads the folder again if any file in it changed since the last read.</summary>
    public void Reload()
    {
        string stamp;
        try
        {
            stamp = string.Join('|', Directory.EnumerateFiles(_folder)
                .Order(StringComparer.Ordinal)
                .Select(f => $"{f}:{File.GetLastWriteTimeUtc(f).Ticks}"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.FolderUnreadable(_logger, _folder, e.Message);
            return;
        }

        if (stamp == _current.Stamp)
        {
            return;
        }

        var byName = new Dictionary<string, X509Certificate2>(StringComparer.Ordinal);
        X509Certificate2? first = null;
        foreach (var certificateFile in Directory.EnumerateFiles(_folder).Where(IsCertificateFile).Order(StringComparer.Ordinal))
        {
            var keyFile = Path.ChangeExtension(certificateFile, ".key");
            if (!File.Exists(keyFile))
            {
                Log.NoKey(_logger, certificateFile, keyFile);
                continue;
            }

            X509Certificate2 certificate;
            try
            {
                // Re-exported: on Linux a PEM key works for a TLS server only after a PKCS#12 round trip.
                using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
                certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
            catch (Exception e) when (e is CryptographicException or IOException or ArgumentException)
            {
                Log.Unloadable(_logger, certificateFile, e.Message);
                continue;
            }

            first ??= certificate;
            var names = Names(certificate).ToList();
            foreach (var name in names)
            {
                byName.TryAdd(name, certificate);
            }

            Log.Loaded(_logger, certificateFile, string.Join(", ", names), certificate.NotAfter);
        }

        _current = new Snapshot(byName.ToFrozenDictionary(StringComparer.Ordinal), first, stamp);
    }

    private static bool IsCertificateFile(string path) =>
        path.EndsWith(".crt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pem", StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<string> Names(X509Certificate2 certificate)
    {
        var any = false;
        foreach (var extension in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            foreach (var name in extension.EnumerateDnsNames())
            {
                any = true;
                yield return name.ToLowerInvariant();
            }
        }

        if (!any && certificate.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } common)
        {
            yield return common.ToLowerInvariant();
        }
    }

    private sealed record Snapshot(FrozenDictionary<string, X509Certificate2> ByName, X509Certificate2? Default, string Stamp);

    private static partial class Log
    {
        [LoggerMessage(600, LogLevel.Information, "HTTPS certificate {File} for {Names}, valid until {NotAfter}")]
        public static partial void Loaded(ILogger logger, string file, string names, DateTime notAfter);

        [LoggerMessage(601, LogLevel.Warning, "HTTPS certificate {File} skipped: no key file {KeyFile}")]
        public static partial void NoKey(ILogger logger, string file, string keyFile);

        [LoggerMessage(602, LogLevel.Warning, "HTTPS certificate {File} skipped: {Reason}")]
        public static partial void Unloadable(ILogger logger, string file, string reason);

        [LoggerMessage(603, LogLevel.Warning, "Certificate folder {Folder} cannot be read: {Reason}; keeping the certificates loaded before")]
        public static partial void FolderUnreadable(ILogger logger, string folder, string reason);
    }
}
