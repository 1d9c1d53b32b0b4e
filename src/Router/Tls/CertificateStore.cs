using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Router.Registry.Model;

namespace Router.Tls;

/// <summary>
/// The HTTPS certificates from <c>--certs</c>: every <c>NAME.crt</c> (or <c>NAME.pem</c>) with its
/// <c>NAME.key</c>, PEM. A handshake gets the certificate whose names match the SNI host exactly, then by
/// wildcard (<c>*.example.com</c>), else the first one by file name. The folder is read again when a file
/// in it changes, so renewed certificates are served without a restart. A file that cannot be read then
/// (half written, corrupt, key missing) keeps the certificate loaded from it before and is a problem until
/// it reads again; a certificate no longer served is disposed once handshakes that picked it are over.
/// </summary>
internal sealed partial class CertificateStore : IDisposable
{
    public const string ProblemSource = "certificates";

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(10);

    // Longer than Kestrel's TLS handshake timeout (10 s): a handshake that picked a certificate just before it
    // was replaced still finishes with it.
    private static readonly TimeSpan DisposeDelay = TimeSpan.FromSeconds(30);

    private readonly string _folder;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _poll;
    private readonly Lock _gate = new();
    private readonly List<(X509Certificate2 Certificate, long RetiredAt)> _retired = [];
    private volatile Snapshot _current = new(FrozenDictionary<string, LoadedFile>.Empty, null, "", [], []);

    public CertificateStore(string folder, TimeProvider time, ILogger<CertificateStore> logger)
    {
        _folder = folder;
        _time = time;
        _logger = logger;
        Reload();
        _poll = time.CreateTimer(_ => Reload(), null, PollInterval, PollInterval);
    }

    public int Count => _current.Files.Length;

    /// <summary>The certificates served now, the one expiring first first.</summary>
    public IReadOnlyList<CertificateInfo> Certificates => [.. _current.Files
        .OrderBy(f => f.Certificate.NotAfter)
        .ThenBy(f => f.File, StringComparer.Ordinal)
        .Select(f => new CertificateInfo(f.File, f.Names, new DateTimeOffset(f.Certificate.NotAfter.ToUniversalTime()), f.Stale))];

    /// <summary>Each name served and when the certificate serving it expires.</summary>
    public IEnumerable<(string Name, DateTimeOffset NotAfter)> ServedNames => _current.ByName
        .OrderBy(p => p.Key, StringComparer.Ordinal)
        .Select(p => (p.Key, new DateTimeOffset(p.Value.Certificate.NotAfter.ToUniversalTime())));

    /// <summary>Certificate files not read at the last change (kept from before, or skipped).</summary>
    public ImmutableArray<RegistryProblem> Problems => _current.Problems;

    /// <summary>The certificate for an SNI host name (any case); the default one when nothing matches.</summary>
    public X509Certificate2? Select(string? host) => Find(host)?.Certificate;

    /// <summary>
    /// The certificate for an SNI host name as a TLS server context made once at load: a bare certificate
    /// makes SslStream build that context (its chain) again in every handshake.
    /// </summary>
    public SslStreamCertificateContext? SelectContext(string? host) => Find(host)?.Context;

    private LoadedFile? Find(string? host)
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

    public void Dispose()
    {
        _poll.Dispose();
        lock (_gate)
        {
            foreach (var (certificate, _) in _retired)
            {
                certificate.Dispose();
            }

            _retired.Clear();
            foreach (var file in _current.Files)
            {
                file.Certificate.Dispose();
            }
        }
    }

    /// <summary>Disposes certificates replaced long enough ago, then reads the folder again if any file in it changed.</summary>
    public void Reload()
    {
        lock (_gate)
        {
            DisposeRetired();
            ReloadFolder();
        }
    }

    private void ReloadFolder()
    {
        string stamp;
        List<string> certificateFiles;
        try
        {
            var files = Directory.EnumerateFiles(_folder).Order(StringComparer.Ordinal).ToList();
            stamp = string.Join('|', files.Select(f => $"{f}:{File.GetLastWriteTimeUtc(f).Ticks}"));
            certificateFiles = [.. files.Where(IsCertificateFile)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.FolderUnreadable(_logger, _folder, e.Message);
            return;
        }

        var previous = _current;
        if (stamp == previous.Stamp)
        {
            return;
        }

        var before = previous.Files.ToDictionary(f => f.File, StringComparer.Ordinal);
        var loaded = ImmutableArray.CreateBuilder<LoadedFile>();
        var problems = ImmutableArray.CreateBuilder<RegistryProblem>();
        foreach (var certificateFile in certificateFiles)
        {
            var keyFile = Path.ChangeExtension(certificateFile, ".key");
            string? failure = null;
            X509Certificate2? certificate = null;
            if (!File.Exists(keyFile))
            {
                failure = $"no key file {keyFile}";
                Log.NoKey(_logger, certificateFile, keyFile);
            }
            else
            {
                try
                {
                    // Re-exported: on Linux a PEM key works for a TLS server only after a PKCS#12 round trip.
                    using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
                    certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
                }
                catch (Exception e) when (e is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
                {
                    failure = e.Message;
                    Log.Unloadable(_logger, certificateFile, e.Message);
                }
            }

            if (certificate is not null)
            {
                var names = Names(certificate).ToList();

                // offline: the chain is built from the local stores only, never fetched (AIA) during a reload.
                var context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
                loaded.Add(new LoadedFile(certificateFile, certificate, context, names, Stale: false));
                Log.Loaded(_logger, certificateFile, string.Join(", ", names), certificate.NotAfter);
            }
            else if (before.TryGetValue(certificateFile, out var kept))
            {
                // Keep the last good state: a renewal caught half written must not take the name off the air.
                loaded.Add(kept with { Stale = true });
                problems.Add(new RegistryProblem(ProblemSource, certificateFile, $"cannot be loaded ({failure}); the certificate loaded from it before is served, valid until {kept.Certificate.NotAfter.ToUniversalTime():u}"));
                Log.KeptPrevious(_logger, certificateFile, kept.Certificate.NotAfter);
            }
            else
            {
                problems.Add(new RegistryProblem(ProblemSource, certificateFile, $"cannot be loaded ({failure}); skipped"));
            }
        }

        var byName = new Dictionary<string, LoadedFile>(StringComparer.Ordinal);
        foreach (var file in loaded)
        {
            foreach (var name in file.Names)
            {
                byName.TryAdd(name, file);
            }
        }

        var next = new Snapshot(byName.ToFrozenDictionary(StringComparer.Ordinal), loaded.Count > 0 ? loaded[0] : null, stamp, loaded.ToImmutable(), problems.ToImmutable());
        _current = next;

        var now = _time.GetTimestamp();
        foreach (var old in previous.Files)
        {
            if (!next.Files.Any(f => ReferenceEquals(f.Certificate, old.Certificate)))
            {
                _retired.Add((old.Certificate, now));
            }
        }
    }

    private void DisposeRetired()
    {
        var now = _time.GetTimestamp();
        _retired.RemoveAll(r =>
        {
            if (_time.GetElapsedTime(r.RetiredAt, now) < DisposeDelay)
            {
                return false;
            }

            r.Certificate.Dispose();
            return true;
        });
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

    private sealed record LoadedFile(string File, X509Certificate2 Certificate, SslStreamCertificateContext Context, IReadOnlyList<string> Names, bool Stale);

    private sealed record Snapshot(FrozenDictionary<string, LoadedFile> ByName, LoadedFile? Default, string Stamp, ImmutableArray<LoadedFile> Files, ImmutableArray<RegistryProblem> Problems);

    private static partial class Log
    {
        [LoggerMessage(EventIds.CertificateLoaded, LogLevel.Information, "HTTPS certificate {File} for {Names}, valid until {NotAfter}")]
        public static partial void Loaded(ILogger logger, string file, string names, DateTime notAfter);

        [LoggerMessage(EventIds.CertificateNoKey, LogLevel.Warning, "HTTPS certificate {File} skipped: no key file {KeyFile}")]
        public static partial void NoKey(ILogger logger, string file, string keyFile);

        [LoggerMessage(EventIds.CertificateUnloadable, LogLevel.Warning, "HTTPS certificate {File} skipped: {Reason}")]
        public static partial void Unloadable(ILogger logger, string file, string reason);

        [LoggerMessage(EventIds.CertificateFolderUnreadable, LogLevel.Warning, "Certificate folder {Folder} cannot be read: {Reason}; keeping the certificates loaded before")]
        public static partial void FolderUnreadable(ILogger logger, string folder, string reason);

        [LoggerMessage(EventIds.CertificateKeptPrevious, LogLevel.Warning, "HTTPS certificate {File}: keeping the certificate loaded from it before (valid until {NotAfter})")]
        public static partial void KeptPrevious(ILogger logger, string file, DateTime notAfter);
    }
}
