using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// The certificates of --certs in /status, /metrics and the status page, expiring first; a replaced file
/// served without a restart; a corrupt file keeps the previous certificate and is a problem.
/// </summary>
public sealed class HttpsCertificatesEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    private static readonly TimeSpan ReloadWait = TimeSpan.FromSeconds(40);

    private readonly DirectoryInfo _certs = Directory.CreateTempSubdirectory("router-certs-status-");
    private readonly int _httpsPort = Ports.FreeTcp();
    private readonly TlsTestCa _ca = new();

    protected override async Task<RouterProcess> StartProxyAsync()
    {
        Write("late", "late.test", DateTimeOffset.UtcNow.AddDays(90));
        Write("soon", "soon.test", DateTimeOffset.UtcNow.AddDays(7));
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        return await RouterProcess.StartAsync(Etcd.Url, Prefix, ["--https", $"127.0.0.1:{_httpsPort}", "--certs", _certs.FullName]);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _ca.Dispose();
        _certs.Delete(recursive: true);
    }

    [Fact]
    public async Task Certificates_ListedExpiringFirst_InStatusMetricsAndPage()
    {
        var certificates = (await Proxy.StatusAsync()).GetProperty("certificates").EnumerateArray().ToList();
        var metrics = await TextAsync("/metrics");
        var page = await TextAsync("/");

        Assert.Equal(["soon.test", "late.test"], certificates.Select(c => c.GetProperty("names")[0].GetString()));
        Assert.EndsWith("soon.crt", certificates[0].GetProperty("file").GetString(), StringComparison.Ordinal);
        Assert.Equal(NotAfter("soon"), certificates[0].GetProperty("notAfter").GetDateTimeOffset().ToUnixTimeSeconds());
        Assert.Equal(NotAfter("soon"), MetricsText.Value(metrics, "router_tls_certificate_not_after_seconds{name=\"soon.test\"}"));
        Assert.Equal(NotAfter("late"), MetricsText.Value(metrics, "router_tls_certificate_not_after_seconds{name=\"late.test\"}"));
        Assert.Contains("HTTPS certificates", page, StringComparison.Ordinal);
        Assert.True(page.IndexOf("soon.test", StringComparison.Ordinal) < page.IndexOf("late.test", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReplacedThenCorrupted_NewOneServed_ThenKeptAndReported()
    {
        var renewed = DateTimeOffset.UtcNow.AddDays(180);
        Write("soon", "soon.test", renewed);
        var renewedSeconds = NotAfter("soon");

        await Wait.UntilAsync(async () => MetricsText.Value(await TextAsync("/metrics"), "router_tls_certificate_not_after_seconds{name=\"soon.test\"}") == renewedSeconds, "the renewed certificate to be loaded", ReloadWait);
        Assert.Equal(renewedSeconds, (await PresentedNotAfterAsync("soon.test")).ToUnixTimeSeconds());

        File.WriteAllText(Path.Combine(_certs.FullName, "soon.crt"), "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
        await Wait.UntilAsync(async () => Problems(await Proxy.StatusAsync()).Any(p => p.Contains("soon.crt", StringComparison.Ordinal)), "the corrupt file to be a problem", ReloadWait);

        var status = await Proxy.StatusAsync();
        var kept = status.GetProperty("certificates").EnumerateArray().Single(c => c.GetProperty("names")[0].GetString() == "soon.test");
        Assert.True(kept.GetProperty("stale").GetBoolean());
        Assert.Equal(renewedSeconds, kept.GetProperty("notAfter").GetDateTimeOffset().ToUnixTimeSeconds());
        Assert.Contains(Problems(status), p => p.Contains("loaded from it before is served", StringComparison.Ordinal));
        Assert.Equal(renewedSeconds, (await PresentedNotAfterAsync("soon.test")).ToUnixTimeSeconds());
        Assert.Equal(renewedSeconds, MetricsText.Value(await TextAsync("/metrics"), "router_tls_certificate_not_after_seconds{name=\"soon.test\"}"));
    }

    private static IEnumerable<string> Problems(JsonElement status) =>
        status.GetProperty("problems").EnumerateArray().Select(p => $"{p.GetProperty("key").GetString()} {p.GetProperty("message").GetString()}");

    private long NotAfter(string file)
    {
        using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_certs.FullName, file + ".crt")));
        return new DateTimeOffset(certificate.NotAfter.ToUniversalTime()).ToUnixTimeSeconds();
    }

    private void Write(string file, string name, DateTimeOffset notAfter)
    {
        using var certificate = _ca.Issue(name, [name], notAfter);
        TlsTestCa.WritePemPair(certificate, Path.Combine(_certs.FullName, file));
    }

    private async Task<string> TextAsync(string path)
    {
        using var response = await Proxy.AdminGetAsync(path);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<DateTimeOffset> PresentedNotAfterAsync(string serverName)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _httpsPort);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = serverName, RemoteCertificateValidationCallback = (_, certificate, _, errors) => _ca.Validate(certificate, errors) });
        return new DateTimeOffset(((System.Security.Cryptography.X509Certificates.X509Certificate2)tls.RemoteCertificate!).NotAfter.ToUniversalTime());
    }
}
