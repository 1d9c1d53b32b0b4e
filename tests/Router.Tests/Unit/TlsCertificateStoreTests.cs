using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Router.Testing;
using Router.Tls;

namespace Router.Tests;

/// <summary>The certificate folder: replaced certificates disposed after a grace time, a bad file keeps the previous certificate.</summary>
public sealed class TlsCertificateStoreTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("router-store-");
    private readonly TlsTestCa _ca = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose()
    {
        _ca.Dispose();
        _folder.Delete(recursive: true);
    }

    [Fact]
    public void Reload_ReplacedCertificate_ServedAtOnceAndDisposedAfterTheGraceTime()
    {
        Write("site", "a.test", days: 10);
        using var store = new CertificateStore(_folder.FullName, _time, NullLogger<CertificateStore>.Instance);
        var first = store.Select("a.test")!;

        Write("site", "a.test", days: 20);
        store.Reload();
        var second = store.Select("a.test")!;

        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        Assert.NotEqual(IntPtr.Zero, first.Handle);
        _time.Advance(TimeSpan.FromSeconds(31));
        store.Reload();
        Assert.Equal(IntPtr.Zero, first.Handle);
        Assert.NotEqual(IntPtr.Zero, second.Handle);
    }

    [Fact]
    public void Reload_CorruptFile_KeepsThePreviousCertificateAndReportsIt()
    {
        Write("site", "a.test", days: 10);
        Write("other", "b.test", days: 5);
        using var store = new CertificateStore(_folder.FullName, _time, NullLogger<CertificateStore>.Instance);
        var before = store.Select("a.test")!;

        File.WriteAllText(Path.Combine(_folder.FullName, "site.crt"), "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
        File.SetLastWriteTimeUtc(Path.Combine(_folder.FullName, "site.crt"), DateTime.UtcNow.AddMinutes(1));
        store.Reload();

        Assert.Same(before, store.Select("a.test"));
        var problem = Assert.Single(store.Problems);
        Assert.EndsWith("site.crt", problem.Key, StringComparison.Ordinal);
        Assert.Contains("loaded from it before is served", problem.Message, StringComparison.Ordinal);
        Assert.Equal(["b.test", "a.test"], store.Certificates.Select(c => c.Names[0]));
        Assert.True(store.Certificates.Single(c => c.Names[0] == "a.test").Stale);
    }

    [Fact]
    public void Reload_NewBadFile_SkippedAndReported_OthersServed()
    {
        Write("site", "a.test", days: 10);
        File.WriteAllText(Path.Combine(_folder.FullName, "lonely.crt"), "no key beside me");
        using var store = new CertificateStore(_folder.FullName, _time, NullLogger<CertificateStore>.Instance);

        Assert.Contains("no key file", Assert.Single(store.Problems).Message, StringComparison.Ordinal);
        Assert.Equal("a.test", Assert.Single(store.Certificates).Names[0]);
    }

    private void Write(string file, string name, int days)
    {
        using var certificate = _ca.Issue(name, [name], DateTimeOffset.UtcNow.AddDays(days));
        TlsTestCa.WritePemPair(certificate, Path.Combine(_folder.FullName, file));

        // A distinct stamp even when two writes fall in one clock tick.
        File.SetLastWriteTimeUtc(Path.Combine(_folder.FullName, file + ".crt"), DateTime.UtcNow.AddSeconds(days));
    }
}
