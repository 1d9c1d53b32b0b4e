using System.Net;
using System.Text;
using System.Text.Json;
using Router.Testing;
using Xunit.Abstractions;

namespace Router.Tests;

/// <summary>
/// The router and the announcer against a real etcd with client TLS (certificates made in the test) or with
/// user/password auth. Each test has its own etcd.
/// </summary>
public sealed class EtcdSecurityEndToEndTests(ITestOutputHelper output)
{
    private const string RootPassword = "root-secret";
    private const string RouterPassword = "router-secret";

    [Fact]
    public async Task Tls_CaAndClientCertificate_Routes()
    {
        using var pki = TestCertificates.Create();
        await using var etcd = await EtcdCluster.StartAsync(size: 1, tls: pki);
        var prefix = EtcdFixture.NewPrefix();
        await using var backend = await TestBackend.StartAsync("web-1");
        await using var router = await RouterProcess.StartAsync(etcd.Url(0), prefix,
            ["--etcd-ca", pki.CaFile, "--etcd-cert", pki.ClientCertFile, "--etcd-key", pki.ClientKeyFile]);

        await etcd.PutAsync($"{prefix}/web/scheme", "http");
        await etcd.PutAsync($"{prefix}/web/hosts/1", backend.Address);

        await router.WaitRoutedAsync("web.example.com", "/", e => e.Name == "web-1");
        Assert.StartsWith("https://127.0.0.1:", etcd.Url(0), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_NoClientCertificate_NotReadyWithClearError()
    {
        using var pki = TestCertificates.Create();
        await using var etcd = await EtcdCluster.StartAsync(size: 1, tls: pki);
        await using var router = await RouterProcess.StartAsync(etcd.Url(0), EtcdFixture.NewPrefix(), ["--etcd-ca", pki.CaFile], waitReady: false);

        await AssertNotReadyAsync(router, "give --etcd-cert and --etcd-key");
    }

    [Fact]
    public async Task Tls_WrongCa_NotReadyWithClearError()
    {
        using var pki = TestCertificates.Create();
        await using var etcd = await EtcdCluster.StartAsync(size: 1, tls: pki);
        await using var router = await RouterProcess.StartAsync(etcd.Url(0), EtcdFixture.NewPrefix(),
            ["--etcd-ca", pki.OtherCaFile, "--etcd-cert", pki.ClientCertFile, "--etcd-key", pki.ClientKeyFile], waitReady: false);

        await AssertNotReadyAsync(router, "does not chain to the CA in " + pki.OtherCaFile);
        Assert.Contains("etcd's certificate was not accepted", router.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_RouterUserWithReadRole_Routes()
    {
        await using var etcd = await EtcdCluster.StartAsync(size: 1);
        var prefix = EtcdFixture.NewPrefix();
        await etcd.EnableAuthAsync(RootPassword, "router", RouterPassword, prefix);
        await using var backend = await TestBackend.StartAsync("web-1");
        await using var router = await RouterProcess.StartAsync(etcd.Url(0), prefix, ["--etcd-user", "router"], Password(RouterPassword));

        await etcd.PutAsync($"{prefix}/web/scheme", "http");
        await etcd.PutAsync($"{prefix}/web/hosts/1", backend.Address);

        await router.WaitRoutedAsync("web.example.com", "/", e => e.Name == "web-1");
        Assert.Contains("Authenticated to etcd as", router.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_WrongPassword_NotReadyWithClearError()
    {
        await using var etcd = await EtcdCluster.StartAsync(size: 1);
        var prefix = EtcdFixture.NewPrefix();
        await etcd.EnableAuthAsync(RootPassword, "router", RouterPassword, prefix);
        await using var router = await RouterProcess.StartAsync(etcd.Url(0), prefix, ["--etcd-user", "router"], Password("wrong"), waitReady: false);

        await AssertNotReadyAsync(router, "refused the login of user");
        Assert.Contains("authentication failed, invalid user ID or password", router.Process.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The router's token stops being valid while its watch is open and its connection is cut: a JWT past its
    /// <c>ttl</c>, a simple token idle past <c>--auth-token-ttl</c>, or any token after the user's password was
    /// changed. When the connection returns the router must log in again, not retry with the dead token forever.
    /// </summary>
    [Theory]
    [InlineData("jwt-expired")]
    [InlineData("simple-expired")]
    [InlineData("password-changed")]
    public async Task Auth_TokenExpiredOrRevoked_NewPutIsRouted(string scenario)
    {
        using var pki = TestCertificates.Create();
        string[] tokenArgs = scenario == "jwt-expired"
            ? ["--auth-token", $"jwt,pub-key={pki.JwtPublicKeyFile},priv-key={pki.JwtPrivateKeyFile},sign-method=RS256,ttl=2s"]
            : ["--auth-token", "simple", "--auth-token-ttl", scenario == "simple-expired" ? "2" : "300"];
        await using var etcd = await EtcdCluster.StartAsync(size: 1, extraArgs: tokenArgs);
        var prefix = EtcdFixture.NewPrefix();
        await etcd.EnableAuthAsync(RootPassword, "router", RouterPassword, prefix);
        await using var web = await TestBackend.StartAsync("web-1");
        await using var api = await TestBackend.StartAsync("api-1");
        await etcd.PutAsync($"{prefix}/web/scheme", "http");
        await etcd.PutAsync($"{prefix}/web/hosts/1", web.Address);
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, new Uri(etcd.Url(0)).Port));
        await using var router = await RouterProcess.StartAsync(relay.Url, prefix, ["--etcd-user", "router"], Password(RouterPassword));
        await router.WaitRoutedAsync("web.example.com");

        // The router's token was last used before the cut; nothing it holds can refresh it while cut.
        relay.Cut();
        await Wait.UntilAsync(async () => !(await router.StatusAsync()).GetProperty("etcd").GetProperty("connected").GetBoolean(), "the router to see etcd gone");
        await InvalidateRouterTokenAsync(etcd, scenario);
        var invalidated = DateTimeOffset.UtcNow;
        relay.Restore();

        await etcd.PutAsync($"{prefix}/api/scheme", "http");
        await etcd.PutAsync($"{prefix}/api/hosts/1", api.Address);
        try
        {
            await router.WaitRoutedAsync("api.example.com", "/", e => e.Name == "api-1");
        }
        finally
        {
            output.WriteLine(string.Join('\n', router.Process.Lines.Where(l => l.Contains("etcd", StringComparison.Ordinal)).TakeLast(8)));
        }

        output.WriteLine($"{scenario}: new put routed {(DateTimeOffset.UtcNow - invalidated).TotalMilliseconds:F0} ms after the connection returned");
        Assert.True(Count(router.Process.Output, "Authenticated to etcd as") >= 2, "the router logged in again");
        Assert.False(router.Process.HasExited);
    }

    [Fact]
    public async Task Announcer_Tls_Registers()
    {
        using var pki = TestCertificates.Create();
        await using var etcd = await EtcdCluster.StartAsync(size: 1, tls: pki);
        var prefix = EtcdFixture.NewPrefix();
        await using var backend = await TestBackend.StartAsync("web-1");
        await using var announcer = StartAnnouncer(etcd.Url(0), prefix, backend.Address,
            ["--etcd-ca", pki.CaFile, "--etcd-cert", pki.ClientCertFile, "--etcd-key", pki.ClientKeyFile]);

        await Wait.UntilAsync(async () => await etcd.GetAsync($"{prefix}/web/hosts/1") == backend.Address, "the announcer to register over TLS");
        Assert.Equal("http", await etcd.GetAsync($"{prefix}/web/scheme"));
    }

    [Fact]
    public async Task Announcer_Auth_Registers()
    {
        await using var etcd = await EtcdCluster.StartAsync(size: 1);
        var prefix = EtcdFixture.NewPrefix();
        await etcd.EnableAuthAsync(RootPassword, "announcer", "announcer-secret", prefix, write: true);
        await using var backend = await TestBackend.StartAsync("web-1");
        var passwordFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(passwordFile, "announcer-secret\n");
            await using var announcer = StartAnnouncer(etcd.Url(0), prefix, backend.Address,
                ["--etcd-user", "announcer", "--etcd-password-file", passwordFile]);

            await Wait.UntilAsync(async () => await etcd.GetAsync($"{prefix}/web/hosts/1") == backend.Address, "the announcer to register with auth");
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    private static Dictionary<string, string?> Password(string password) => new() { ["ROUTER_ETCD_PASSWORD"] = password };

    private static TestProcess StartAnnouncer(string etcdUrl, string prefix, string address, IEnumerable<string> security) =>
        TestProcess.Start(RepoPaths.Executable("Announcer", "announcer"),
            ["--etcd", etcdUrl, "--service", "web", "--instance", "1", "--address", address, "--prefix", prefix, "--drain", "0", .. security],
            name: "announcer");

    /// <summary>Waits for the error in the log, then checks the router is alive, not ready, and shows the error in its status.</summary>
    private async Task AssertNotReadyAsync(RouterProcess router, string error)
    {
        await router.Process.WaitForOutputAsync(error);
        await Wait.UntilAsync(async () =>
        {
            using var health = await router.AdminGetAsync("/healthz");
            return health.StatusCode == HttpStatusCode.OK;
        }, "the router's admin to answer");
        using (var ready = await router.AdminGetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        var etcd = (await router.StatusAsync()).GetProperty("etcd");
        Assert.False(etcd.GetProperty("connected").GetBoolean());
        var lastError = etcd.GetProperty("lastError").GetString();
        output.WriteLine($"status lastError: {lastError}");
        output.WriteLine(string.Join('\n', router.Process.Lines.Where(l => l.Contains("etcd", StringComparison.Ordinal)).Take(6)));
        Assert.False(string.IsNullOrEmpty(lastError));
        Assert.False(router.Process.HasExited);
    }

    /// <summary>Waits until a token the router got before now is no longer valid (or makes it so).</summary>
    private async Task InvalidateRouterTokenAsync(EtcdCluster etcd, string scenario)
    {
        switch (scenario)
        {
            case "jwt-expired":
            {
                // A token issued now expires after the router's, which was issued before.
                var expires = JwtExpiry(await LoginAsync(etcd, "router", RouterPassword));
                await Wait.UntilAsync(() => DateTimeOffset.UtcNow > expires.AddMilliseconds(200), "the router's JWT to expire");
                break;
            }

            case "simple-expired":
            {
                // Checking a simple token refreshes it, so each probe is checked once: the first probe found
                // expired proves that every token idle since before the probes were made has expired too.
                var probes = new Queue<string>();
                for (var i = 0; i < 100; i++)
                {
                    probes.Enqueue(await LoginAsync(etcd, "router", RouterPassword));
                }

                await Wait.UntilAsync(async () =>
                {
                    var probe = probes.Dequeue();
                    try
                    {
                        await new Etcdserverpb.KV.KVClient(etcd.Channel(0)).RangeAsync(
                            new Etcdserverpb.RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("/") },
                            new Grpc.Core.Metadata { { "token", probe } }, DateTime.UtcNow.AddSeconds(2));
                        return false;
                    }
                    catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unauthenticated)
                    {
                        output.WriteLine($"probe token refused: {e.Status.Detail}");
                        return true;
                    }
                    catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.PermissionDenied)
                    {
                        // Still valid: "/" is outside the router's permission.
                        return false;
                    }
                }, "the router's simple token to expire", TimeSpan.FromSeconds(15));
                break;
            }

            default:
                // Same password: etcd still drops the user's tokens and moves the auth revision on.
                await etcd.AuthenticateAsync("root", RootPassword);
                await etcd.Auth().UserChangePasswordAsync(new Etcdserverpb.AuthUserChangePasswordRequest { Name = "router", Password = RouterPassword }, etcd.Options());
                break;
        }
    }

    /// <summary>A new token, asked for without any token (etcd refuses a login that carries an expired one).</summary>
    private static async Task<string> LoginAsync(EtcdCluster etcd, string user, string password) =>
        (await etcd.Auth().AuthenticateAsync(
            new Etcdserverpb.AuthenticateRequest { Name = user, Password = password },
            new Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(5)))).Token;

    private static DateTimeOffset JwtExpiry(string token)
    {
        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        using var json = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)));
        return DateTimeOffset.FromUnixTimeSeconds(json.RootElement.GetProperty("exp").GetInt64());
    }

    private static int Count(string text, string fragment)
    {
        var count = 0;
        for (var i = text.IndexOf(fragment, StringComparison.Ordinal); i >= 0; i = text.IndexOf(fragment, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
