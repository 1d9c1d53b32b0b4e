using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Router.Testing;

/// <summary>
/// A CA made in the test and certificates it signs for given DNS names, so a TLS client can verify a
/// server end to end (chain and name) against this CA only. Certificates come with their private keys
/// (usable by SslStream on Linux) and as PEM files.
/// </summary>
public sealed class TlsTestCa : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TlsTestCa(string name = "Router Passthrough Test CA")
    {
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(400));
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Writes the CA certificate as PEM (for <c>openssl -CAfile</c>, <c>curl --cacert</c>).</summary>
    public void WritePem(string file) => File.WriteAllText(file, Certificate.ExportCertificatePem());

    /// <summary>A server certificate for <paramref name="dnsNames"/>, signed by this CA, valid until <paramref name="notAfter"/> (a day by default).</summary>
    public X509Certificate2 Issue(string subject, IEnumerable<string> dnsNames, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            names.AddDnsName(name);
        }

        request.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var until = notAfter ?? DateTimeOffset.UtcNow.AddDays(1);
        using var issued = request.Create(Certificate, DateTimeOffset.UtcNow.AddMinutes(-5), until < Certificate.NotAfter ? until : Certificate.NotAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);

        // A PKCS#12 round trip: on Linux an ephemeral key serves TLS only after it.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes <paramref name="certificate"/> as <c>{path}.crt</c> and its key as <c>{path}.key</c> (the router's --certs layout).</summary>
    public static void WritePemPair(X509Certificate2 certificate, string path)
    {
        File.WriteAllText(path + ".key", certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(path + ".crt", certificate.ExportCertificatePem());
    }

    /// <summary>Validation against this CA alone, for SslStream clients: chain to this CA and the name asked for.</summary>
    public bool Validate(X509Certificate? certificate, System.Net.Security.SslPolicyErrors errors)
    {
        if (certificate is null || (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
