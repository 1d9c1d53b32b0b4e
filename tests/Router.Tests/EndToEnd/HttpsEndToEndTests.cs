using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Router.Testing;

namespace Router.Tests;

/// <summary>TLS termination on --https with certificates from --certs, chosen by SNI, HTTP/2 by ALPN.</summary>
public sealed class HttpsEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    private readonly DirectoryInfo _certs = Directory.CreateTempSubdirectory("router-certs-");
    private readonly int _httpsPort = Ports.FreeTcp();
    private TestBackend _backend = null!;

    protected override async Task<RouterProcess> StartProxyAsync()
    {
        WriteCertificate("wild", "*.example.com");
        WriteCertificate("other", "other.test");
        File.WriteAllText(Path.Combine(_certs.FullName, "nokey.crt"), "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n");
        File.WriteAllText(Path.Combine(_certs.FullName, "broken.crt"), "garbage");
        File.WriteAllText(Path.Combine(_certs.FullName, "broken.key"), "garbage");
        _backend = Own(await TestBackend.StartAsync("secure-1"));
        foreach (var (name, scheme) in new[] { ("secure", "https"), ("both", "http-and-https"), ("plain", "http") })
        {
            await Etcd.PutAsync($"{Prefix}/{name}/scheme", scheme);
            await Etcd.PutAsync($"{Prefix}/{name}/hosts/1", _backend.Address);
        }

        return await RouterProcess.StartAsync(Etcd.Url, Prefix, ["--https", $"127.0.0.1:{_httpsPort}", "--certs", _certs.FullName]);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _certs.Delete(recursive: true);
    }

    [Fact]
    public async Task HttpsOnlyService_ServedOverTlsAndRedirectedOverHttp()
    {
        var (status, echo, certificate, _) = await GetAsync("secure.example.com");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("https", echo!.ForwardedProto);
        Assert.Equal("secure.example.com", echo.Host.Split(':')[0]);
        Assert.Contains("*.example.com", certificate, StringComparison.Ordinal);
        using var plain = await Proxy.GetAsync("secure.example.com", "/x");
        Assert.Equal(HttpStatusCode.MovedPermanently, plain.StatusCode);
    }

    [Fact]
    public async Task Sni_PicksTheMatchingCertificate()
    {
        var (_, _, wildcard, _) = await GetAsync("both.example.com");
        var (status, _, other, _) = await GetAsync("other.test", path: "/both");

        Assert.Contains("*.example.com", wildcard, StringComparison.Ordinal);
        Assert.Contains("other.test", other, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Http2_NegotiatedByAlpn()
    {
        var (status, _, _, version) = await GetAsync("both.example.com", http2: true);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpVersion.Version20, version);
    }

    [Fact]
    public async Task NewCertificateFile_ServedWithoutRestart()
    {
        WriteCertificate("fresh", "fresh.test");

        await Wait.UntilAsync(async () => (await GetAsync("fresh.test", path: "/plain")).Certificate.Contains("fresh.test", StringComparison.Ordinal),
            "the new certificate to be served", TimeSpan.FromSeconds(40));
        Assert.Contains("skipped", Proxy.Process.Output, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, BackendEcho? Echo, string Certificate, Version Version)> GetAsync(string host, string path = "/", bool http2 = false)
    {
        var presented = "";
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                // The test's certificates are self-signed; what matters here is which one is presented.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    presented = certificate?.Subject + " " + string.Join(",", ((X509Certificate2)certificate!).Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()));
                    return true;
                },
            },
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _httpsPort), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://{host}:{_httpsPort}{path}");
        if (http2)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.OK ? BackendEcho.Parse(body) : null, presented, response.Version);
    }

    private void WriteCertificate(string file, string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(Path.Combine(_certs.FullName, file + ".key"), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(_certs.FullName, file + ".crt"), certificate.ExportCertificatePem());
    }
}
