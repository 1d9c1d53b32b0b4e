using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Router.Testing;

/// <summary>
/// A throwaway PKI made in the test: a CA, a server certificate for 127.0.0.1 and localhost, a client certificate,
/// and a second CA that signed nothing of these (for "wrong CA" tests), all as PEM files in a temporary folder
/// (etcd reads PEM certificate and PEM key files). Also an RSA key pair for etcd's JWT auth tokens.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly TimeSpan Validity = TimeSpan.FromDays(2);

    private TestCertificates(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string ServerCertFile => Path.Combine(Directory, "server.pem");

    public string ServerKeyFile => Path.Combine(Directory, "server-key.pem");

    public string ClientCertFile => Path.Combine(Directory, "client.pem");

    public string ClientKeyFile => Path.Combine(Directory, "client-key.pem");

    /// <summary>A CA that signed neither the server nor the client certificate.</summary>
    public string OtherCaFile => Path.Combine(Directory, "other-ca.pem");

    /// <summary>RSA key pair for <c>--auth-token jwt,…,sign-method=RS256</c>.</summary>
    public string JwtPrivateKeyFile => Path.Combine(Directory, "jwt-key.pem");

    public string JwtPublicKeyFile => Path.Combine(Directory, "jwt-pub.pem");

    public static TestCertificates Create()
    {
        var result = new TestCertificates(System.IO.Directory.CreateTempSubdirectory("router-pki-").FullName);
        result.Write();
        return result;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Write()
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateCa("Router Test CA", caKey, now);
        File.WriteAllText(CaFile, ca.ExportCertificatePem());

        using (var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        using (var other = CreateCa("Router Test Other CA", otherKey, now))
        {
            File.WriteAllText(OtherCaFile, other.ExportCertificatePem());
        }

        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        WriteLeaf(ca, "CN=127.0.0.1", san.Build(), serverAuth: true, now, ServerCertFile, ServerKeyFile);

        // etcd's auth takes the user from a client certificate's CN when no token is sent; "root" would bypass
        // user/password, so the client certificate names a user that does not exist.
        WriteLeaf(ca, "CN=router-test-client", extension: null, serverAuth: false, now, ClientCertFile, ClientKeyFile);

        using var jwt = RSA.Create(2048);
        File.WriteAllText(JwtPrivateKeyFile, jwt.ExportRSAPrivateKeyPem());
        File.WriteAllText(JwtPublicKeyFile, jwt.ExportSubjectPublicKeyInfoPem());
    }

    private static X509Certificate2 CreateCa(string name, ECDsa key, DateTimeOffset now)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now, now + Validity);
    }

    private static void WriteLeaf(X509Certificate2 ca, string subject, X509Extension? extension, bool serverAuth, DateTimeOffset now, string certFile, string keyFile)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        // etcd's own gRPC gateway dials its gRPC port with the server certificate, so it needs client auth too.
        var usage = new OidCollection { new Oid("1.3.6.1.5.5.7.3.2") };
        if (serverAuth)
        {
            usage.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usage, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (extension is not null)
        {
            request.CertificateExtensions.Add(extension);
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var certificate = request.Create(ca, now, now + TimeSpan.FromDays(1), serial);
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
