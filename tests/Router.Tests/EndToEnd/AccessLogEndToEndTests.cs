using System.Net;
using System.Text;
using System.Text.Json;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// <c>--access-log</c> on the real router: one JSON line per request with what an operator asks of it, for
/// the direct path and the YARP path alike; <c>--access-log-sample N</c> writes 1 in N; off writes none.
/// </summary>
public sealed class AccessLogEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>, IDisposable
{
    private const string AccessTemplate = "{Client} {Method} {RequestHost}{Target}";

    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("router-access-");

    [Fact]
    public async Task AccessLogFile_DirectAndYarpRequests_OneLineEachWithEveryField()
    {
        var path = Path.Combine(_dir.FullName, "access.log");
        await using var web = await TestBackend.StartAsync("web-1");
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", web.Address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--access-log", path]);
        await router.WaitRoutedAsync("web.example.com");

        using var get = await router.GetAsync("web.example.com", "/direct/a%20b?x=1");
        var getBody = await get.Content.ReadAsByteArrayAsync();
        using var post = new HttpRequestMessage(HttpMethod.Post, "/yarp?y=2") { Content = new StringContent("hello") };
        post.Headers.Host = "web.example.com";
        using var posted = await router.Http.SendAsync(post);
        var postBody = await posted.Content.ReadAsByteArrayAsync();
        using var missing = await router.GetAsync("nothing.example.com", "/");

        await Wait.UntilAsync(() => Lines(path).Any(l => Str(l, "Target") == "/"  && Str(l, "RequestHost") == "nothing.example.com"), "the 404's line");
        var direct = Lines(path).Single(l => Str(l, "Target") == "/direct/a%20b?x=1");
        Assert.Equal("127.0.0.1", Str(direct, "Client"));
        Assert.Equal("GET", Str(direct, "Method"));
        Assert.Equal("web.example.com", Str(direct, "RequestHost"));
        Assert.Equal(200, direct.GetProperty("Status").GetInt32());
        Assert.Equal(getBody.Length, direct.GetProperty("Bytes").GetInt64());
        Assert.True(direct.GetProperty("DurationMs").GetDouble() > 0);
        Assert.Equal("web", Str(direct, "Service"));
        Assert.Equal(web.Address, Str(direct, "Backend"));
        Assert.Equal("direct", Str(direct, "Forwarder"));
        Assert.Equal(0, direct.GetProperty("Retries").GetInt32());
        Assert.True(DateTimeOffset.TryParse(Str(direct, "@t"), out _));

        var yarp = Lines(path).Single(l => Str(l, "Target") == "/yarp?y=2");
        Assert.Equal("POST", Str(yarp, "Method"));
        Assert.Equal(200, yarp.GetProperty("Status").GetInt32());
        Assert.Equal(postBody.Length, yarp.GetProperty("Bytes").GetInt64());
        Assert.Equal("yarp", Str(yarp, "Forwarder"));
        Assert.Equal(web.Address, Str(yarp, "Backend"));

        var notFound = Lines(path).Single(l => Str(l, "RequestHost") == "nothing.example.com");
        Assert.Equal(404, notFound.GetProperty("Status").GetInt32());
        Assert.Equal("-", Str(notFound, "Service"));
        Assert.Equal("-", Str(notFound, "Backend"));

        // The access lines go to the file only, not into the router's own log.
        Assert.DoesNotContain(AccessTemplate, router.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AccessLog_DeadHostTriedFirst_RetriesCounted()
    {
        await using var web = await TestBackend.StartAsync("web-1");
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", $"127.0.0.1:{Ports.FreeTcp()}");
        await _etcd.PutAsync($"{_prefix}/web/hosts/2", web.Address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--access-log", "stdout"]);

        await Wait.UntilAsync(async () =>
        {
            using var response = await router.GetAsync("web.example.com", "/");
            return Events(router).Any(l => Str(l, "@mt")!.StartsWith(AccessTemplate, StringComparison.Ordinal) && l.GetProperty("Retries").GetInt32() == 1);
        }, "a request that retried past the dead host");

        var retried = Events(router).First(l => Str(l, "@mt")!.StartsWith(AccessTemplate, StringComparison.Ordinal) && l.GetProperty("Retries").GetInt32() == 1);
        Assert.Equal(web.Address, Str(retried, "Backend"));
        Assert.Equal(200, retried.GetProperty("Status").GetInt32());
    }

    [Fact]
    public async Task AccessLogSample3_OneRequestInThreeWritten()
    {
        await using var web = await TestBackend.StartAsync("web-1");
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", web.Address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--access-log", "stdout", "--access-log-sample", "3"]);
        await router.WaitRoutedAsync("web.example.com");

        for (var i = 0; i < 30; i++)
        {
            using var response = await router.GetAsync("web.example.com", $"/sampled/{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // 30 requests in a row: 10 lines, whichever request the count started on. A sentinel request after them
        // is not counted here; once any line for it or later could show, every earlier line has been read.
        int Sampled() => Events(router).Count(l => Str(l, "Target")?.StartsWith("/sampled/", StringComparison.Ordinal) == true);
        await Wait.UntilAsync(() => Sampled() >= 10, "10 sampled lines");
        for (var i = 0; i < 3; i++)
        {
            using var response = await router.GetAsync("web.example.com", "/after");
        }

        await Wait.UntilAsync(() => Events(router).Any(l => Str(l, "Target") == "/after"), "a line after the sampled ones");
        Assert.Equal(10, Sampled());
    }

    [Fact]
    public async Task AccessLogOff_NoLinesAnywhere()
    {
        var path = Path.Combine(_dir.FullName, "access.log");
        await using var web = await TestBackend.StartAsync("web-1");
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", web.Address);
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--access-log", "off"]);
        await router.WaitRoutedAsync("web.example.com");
        for (var i = 0; i < 5; i++)
        {
            using var response = await router.GetAsync("web.example.com", "/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.DoesNotContain(AccessTemplate, router.Process.Output, StringComparison.Ordinal);
        Assert.Empty(_dir.GetFiles());
    }

    public void Dispose() => _dir.Delete(recursive: true);

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

    private static List<JsonElement> Events(RouterProcess router) =>
        [.. router.Process.Lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.ToString() : null;
}
