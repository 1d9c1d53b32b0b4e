using System.Net;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// The forwarding policy on both paths, end to end: headers named in Connection (read from the raw header,
/// per request on a kept-alive connection), and --trusted-proxies: whose X-Forwarded-For and
/// X-Forwarded-Proto are believed, while <c>private</c> still judges the connection's own address. Clients
/// connect from several loopback addresses: 127.0.0.2 is the trusted proxy, 127.0.0.3 the one internal network.
/// </summary>
public abstract class ForwardingPolicyEndToEndTests(SharedEtcdFixture fixture, bool direct)
    : RouterScenario(fixture, [.. direct ? Array.Empty<string>() : ["--http-forwarder", "yarp"], "--trusted-proxies", "127.0.0.2/32", "--internal-networks", "127.0.0.3/32"])
{
    private static readonly IPAddress Outsider = IPAddress.Parse("127.0.0.1");
    private static readonly IPAddress TrustedProxy = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Inside = IPAddress.Parse("127.0.0.3");

    [Theory]
    [InlineData("GET", "")]
    [InlineData("POST", "body")]
    public async Task ConnectionNamedHeaders_SeveralRequestsOnOneConnection_EachRequestsOwnNamesRemoved(string method, string body)
    {
        var backend = await StartAsync("web", private_: false);
        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);

        // Kestrel shows only "keep-alive" of the first one's Connection header; the raw header names X-Foo.
        await client.ExchangeAsync(Request(method, "/1", body, "Connection: X-Foo, keep-alive", "X-Foo: bar", "X-Kept: 1"));
        // Same header without the name: X-Foo is an ordinary header again, the first request's names are gone.
        await client.ExchangeAsync(Request(method, "/2", body, "Connection: keep-alive", "X-Foo: bar"));
        // Two Connection lines: the names of both count.
        await client.ExchangeAsync(Request(method, "/3", body, "Connection: X-Bar", "Connection: keep-alive, X-Baz", "X-Foo: bar", "X-Bar: 1", "X-Baz: 2"));

        var got = backend.Requests;
        Assert.Equal(["/1", "/2", "/3"], got.Select(r => r.Target));
        Assert.All(got, r => Assert.False(r.Has("Connection"), "the client's Connection header reached the backend"));
        Assert.False(got[0].Has("X-Foo"));
        Assert.Equal("1", got[0].Header("X-Kept"));
        Assert.Equal("bar", got[1].Header("X-Foo"));
        Assert.Equal(("bar", false, false), (got[2].Header("X-Foo"), got[2].Has("X-Bar"), got[2].Has("X-Baz")));
        Assert.All(got, r => Assert.Equal(body, r.BodyText));
    }

    [Theory]
    [InlineData("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello")]
    [InlineData("POST", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello")]
    [InlineData("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello")]
    public async Task BodilessStatusWithBody_HeadOnlyToClientAndConnectionNotReused(string method, string answer)
    {
        var backend = Own(RawHttpBackend.Start(e => e.SendAsync(e.Request.Target == "/odd" ? answer : "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")));
        await RouteAsync("web", backend, private_: false);
        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort);

        // The body comes in the same segment as the head: it is no answer to anything (RFC 9110 §15.3.5, §15.4.5).
        var odd = await client.ExchangeAsync(Request(method, "/odd", method == "POST" ? "body" : ""));
        var next = await client.ExchangeAsync(Request(method, "/next", method == "POST" ? "body" : ""));

        Assert.Empty(odd.Body);
        Assert.False(odd.Has("Transfer-Encoding"));
        // A 204's Content-Length is dropped (Kestrel refuses one, HAProxy drops it); a 304 keeps it.
        Assert.Equal(odd.Status == 304 ? "5" : null, odd.Header("Content-Length"));
        Assert.Equal("next", next.BodyText);
        var requests = backend.Requests;
        Assert.Equal(["/odd", "/next"], requests.Select(r => r.Target));
        Assert.Equal(2, backend.Connections);
    }

    [Fact]
    public async Task UntrustedClient_ForwardedHeadersReplaced()
    {
        var backend = await StartAsync("web", private_: false);
        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort, Outsider);

        var response = await client.ExchangeAsync(Request("GET", "/", "", "X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https"));

        Assert.Equal(200, response.Status);
        var got = Assert.Single(backend.Requests);
        Assert.Equal("127.0.0.1", got.Header("X-Forwarded-For"));
        Assert.Equal("http", got.Header("X-Forwarded-Proto"));
    }

    [Fact]
    public async Task TrustedProxy_ForwardedForExtendedAndProtoBelieved()
    {
        var backend = await StartAsync("web", private_: false);
        using var client = await RawHttpClient.OpenAsync(Proxy.HttpPort, TrustedProxy);

        await client.ExchangeAsync(Request("GET", "/a", "", "X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https"));
        // A value other than http or https is not a scheme: the connection's own is sent instead.
        await client.ExchangeAsync(Request("GET", "/b", "", "X-Forwarded-Proto: gopher"));

        var got = backend.Requests;
        Assert.Equal(("203.0.113.7, 127.0.0.2", "https"), (got[0].Header("X-Forwarded-For"), got[0].Header("X-Forwarded-Proto")));
        Assert.Equal(("127.0.0.2", "http"), (got[1].Header("X-Forwarded-For"), got[1].Header("X-Forwarded-Proto")));
    }

    [Fact]
    public async Task PrivateService_TrustedProxyClaimsInternalClient_JudgedByConnectionAddress()
    {
        await StartAsync("secret", private_: true);

        using (var proxy = await RawHttpClient.OpenAsync(Proxy.HttpPort, TrustedProxy))
        {
            // The load balancer is trusted for the client's scheme and address, not for access.
            var response = await proxy.ExchangeAsync(Request("GET", "/", "", "X-Forwarded-For: 127.0.0.3", "Host: secret.example.com"));
            Assert.Equal(404, response.Status);
        }

        using var inside = await RawHttpClient.OpenAsync(Proxy.HttpPort, Inside);
        Assert.Equal(200, (await inside.ExchangeAsync(Request("GET", "/", "", "Host: secret.example.com"))).Status);
    }

    private async Task<RawHttpBackend> StartAsync(string service, bool private_)
    {
        var backend = Own(RawHttpBackend.Start(e => e.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
        await RouteAsync(service, backend, private_);
        return backend;
    }

    private async Task RouteAsync(string service, RawHttpBackend backend, bool private_)
    {
        await Etcd.PutAsync($"{Prefix}/{service}/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/{service}/hosts/1", backend.Address);
        if (private_)
        {
            await Etcd.PutAsync($"{Prefix}/{service}/private", "true");
        }

        await Wait.UntilAsync(async () =>
        {
            var status = await Proxy.StatusAsync();
            return status.GetProperty("services").EnumerateArray().Any(s => s.GetProperty("name").GetString() == service && s.GetProperty("hosts").GetArrayLength() == 1);
        }, $"{service} to be routed");
    }

    /// <summary>A request to web.example.com unless a Host header is given.</summary>
    private static string Request(string method, string target, string body, params string[] headers)
    {
        var host = headers.Any(h => h.StartsWith("Host:", StringComparison.Ordinal)) ? "" : "Host: web.example.com\r\n";
        var length = body.Length > 0 ? $"Content-Length: {body.Length}\r\n" : "";
        return $"{method} {target} HTTP/1.1\r\n{host}" + string.Concat(headers.Select(h => h + "\r\n")) + length + "\r\n" + body;
    }
}

/// <summary>The forwarding policy on the default (direct) path.</summary>
public sealed class DirectForwardingPolicyEndToEndTests(SharedEtcdFixture fixture) : ForwardingPolicyEndToEndTests(fixture, direct: true);

/// <summary>The forwarding policy with <c>--http-forwarder yarp</c>.</summary>
public sealed class YarpForwardingPolicyEndToEndTests(SharedEtcdFixture fixture) : ForwardingPolicyEndToEndTests(fixture, direct: false);
