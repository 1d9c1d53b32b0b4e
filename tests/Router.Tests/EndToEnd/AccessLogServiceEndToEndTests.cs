using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// Requests the router answers itself for a known service (the HTTPS redirect, its 503 without an HTTPS port,
/// a private service's 404 from outside, a tcp service asked over HTTP, no usable host) name that service in
/// the real router's access log file; only a request that matched no service shows <c>-</c>.
/// </summary>
public sealed class AccessLogServiceEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>, IDisposable
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();
    private readonly string _noHttpsPrefix = EtcdFixture.NewPrefix();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("router-access-service-");

    [Fact]
    public async Task AnsweredByTheRouter_KnownService_LineNamesTheService()
    {
        var certs = _dir.CreateSubdirectory("certs");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=*.example.com", key, HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            File.WriteAllText(Path.Combine(certs.FullName, "site.key"), key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(certs.FullName, "site.crt"), certificate.ExportCertificatePem());
        }

        await using var web = await TestBackend.StartAsync("web-1");
        await _etcd.PutAsync($"{_prefix}/secure/scheme", "https");
        await _etcd.PutAsync($"{_prefix}/secure/hosts/1", web.Address);
        await _etcd.PutAsync($"{_prefix}/priv/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/priv/hosts/1", web.Address);
        await _etcd.PutAsync($"{_prefix}/priv/private", "");
        await _etcd.PutAsync($"{_prefix}/db/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/db/hosts/1", "127.0.0.1:9");
        await _etcd.PutAsync($"{_prefix}/db/host_port", Ports.FreeTcp().ToString(System.Globalization.CultureInfo.InvariantCulture));
        await _etcd.PutAsync($"{_prefix}/empty/scheme", "http");
        await _etcd.PutAsync($"{_noHttpsPrefix}/secure/scheme", "https");
        await _etcd.PutAsync($"{_noHttpsPrefix}/secure/hosts/1", web.Address);

        // Loopback is outside the internal networks here, so priv is private from this test's client.
        var path = Path.Combine(_dir.FullName, "access.log");
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix,
            ["--access-log", path, "--https", $"127.0.0.1:{Ports.FreeTcp()}", "--certs", certs.FullName, "--internal-networks", "10.0.0.0/8"]);
        var noHttpsPath = Path.Combine(_dir.FullName, "no-https.log");
        await using var noHttps = await RouterProcess.StartAsync(_etcd.Url, _noHttpsPrefix, ["--access-log", noHttpsPath]);
        await router.WaitStatusAsync("secure.example.com", "/", HttpStatusCode.MovedPermanently);
        await noHttps.WaitStatusAsync("secure.example.com", "/", HttpStatusCode.ServiceUnavailable);

        await SendAsync(router, HttpMethod.Get, "secure.example.com", "/get", HttpStatusCode.MovedPermanently);
        await SendAsync(router, HttpMethod.Post, "secure.example.com", "/post", HttpStatusCode.PermanentRedirect);
        await SendAsync(router, HttpMethod.Get, "priv.example.com", "/private", HttpStatusCode.NotFound);
        await SendAsync(router, HttpMethod.Get, "db.example.com", "/tcp", HttpStatusCode.NotFound);
        await SendAsync(router, HttpMethod.Get, "empty.example.com", "/empty", HttpStatusCode.ServiceUnavailable);
        await SendAsync(router, HttpMethod.Get, "nothing.example.com", "/unknown", HttpStatusCode.NotFound);
        await SendAsync(noHttps, HttpMethod.Get, "secure.example.com", "/no-https", HttpStatusCode.ServiceUnavailable);

        await Wait.UntilAsync(() => Lines(path).Any(l => Str(l, "Target") == "/unknown"), "the last request's line");
        await Wait.UntilAsync(() => Lines(noHttpsPath).Any(l => Str(l, "Target") == "/no-https"), "the no-https router's line");
        AssertLine(path, "/get", 301, "secure");
        AssertLine(path, "/post", 308, "secure");
        AssertLine(path, "/private", 404, "priv");
        AssertLine(path, "/tcp", 404, "db");
        AssertLine(path, "/empty", 503, "empty");
        AssertLine(path, "/unknown", 404, "-");
        AssertLine(noHttpsPath, "/no-https", 503, "secure");
        Assert.Equal(0, web.Requests);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static void AssertLine(string path, string target, int status, string service)
    {
        var line = Lines(path).Single(l => Str(l, "Target") == target);
        Assert.Equal(status, line.GetProperty("Status").GetInt32());
        Assert.Equal(service, Str(line, "Service"));
        // Nothing was forwarded: no host, no forwarding path.
        Assert.Equal("-", Str(line, "Backend"));
        Assert.Equal("-", Str(line, "Forwarder"));
    }

    private static async Task SendAsync(RouterProcess router, HttpMethod method, string host, string target, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, target);
        request.Headers.Host = host;
        using var response = await router.Http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    private static List<JsonElement> Lines(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return [.. reader.ReadToEnd().Split('\n').Where(l => l.EndsWith('}')).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.ToString() : null;
}
