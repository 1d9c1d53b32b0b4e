using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Router.Routing;

namespace Router.Tests;

public sealed class ForwardingPolicyTests
{
    private static readonly TrustedProxies Balancer = new([IPNetwork.Parse("10.1.0.0/16")]);

    [Theory]
    [InlineData("GET", "/a%2Fb/%7E?x=%2F", false, "/a%2Fb/%7E?x=%2F")]
    [InlineData("GET", "/web/a%2F?q", true, "/a%2F?q")]
    [InlineData("GET", "/web?q=1", true, "?q=1")]
    [InlineData("GET", "/web", true, "")]
    [InlineData("OPTIONS", "*", false, "*")]
    [InlineData("GET", "http://web.example.com/abs?q=1", false, "/abs?q=1")]
    [InlineData("GET", "//double//slash", false, "//double//slash")]
    public void TryGetTarget_AsSent_BytesKept(string method, string raw, bool strip, string expected)
    {
        Assert.True(ForwardingPolicy.TryGetTarget(Context(method, raw), strip, out var target));
        Assert.Equal(expected, target.ToString());
    }

    [Theory]
    [InlineData("GET", "/a/../b")]
    [InlineData("GET", "/a/./b")]
    [InlineData("GET", "/a/%2e%2E/b")]
    [InlineData("GET", "*")]
    [InlineData("GET", "http://web.example.com")]
    [InlineData("GET", "")]
    public void TryGetTarget_DotSegmentsOrNoOriginForm_LeftToTheResolvedPath(string method, string raw) =>
        Assert.False(ForwardingPolicy.TryGetTarget(Context(method, raw), stripFirstSegment: false, out _));

    [Theory]
    [InlineData("", true)]
    [InlineData("?q", true)]
    [InlineData("/a", false)]
    public void StripsToRoot_NoPathLeft_SlashNeeded(string target, bool expected) => Assert.Equal(expected, ForwardingPolicy.StripsToRoot(target));

    [Theory]
    [InlineData("10.1.2.3", "https", "https")]
    [InlineData("10.1.2.3", " HTTPS ", "https")]
    [InlineData("10.1.2.3", "http", "http")]
    [InlineData("10.1.2.3", "gopher", "http")]
    [InlineData("10.1.2.3", null, "http")]
    [InlineData("::ffff:10.1.2.3", "https", "https")]
    [InlineData("192.0.2.1", "https", "http")]
    public void ClientScheme_OnlyATrustedProxysForwardedProtoBelieved(string from, string? proto, string expected)
    {
        var context = Context("GET", "/", from);
        if (proto is not null)
        {
            context.Request.Headers["X-Forwarded-Proto"] = proto;
        }

        Assert.Equal(expected, ForwardingPolicy.ClientScheme(context, Balancer));
    }

    [Fact]
    public void ClientScheme_TwoValuesFromTrustedProxy_ConnectionScheme()
    {
        var context = Context("GET", "/", "10.1.2.3");
        context.Request.Headers["X-Forwarded-Proto"] = new StringValues(["https", "https"]);

        Assert.Equal("http", ForwardingPolicy.ClientScheme(context, Balancer));
    }

    [Fact]
    public void ClientScheme_NoTrustedProxies_NeverBelieved()
    {
        var context = Context("GET", "/", "10.1.2.3");
        context.Request.Headers["X-Forwarded-Proto"] = "https";

        Assert.Equal("http", ForwardingPolicy.ClientScheme(context, TrustedProxies.None));
    }

    [Theory]
    [InlineData("10.1.2.3", "203.0.113.7")]
    [InlineData("192.0.2.1", "")]
    public void PriorForwardedFor_KeptFromTrustedProxyOnly(string from, string expected)
    {
        var context = Context("GET", "/", from);
        context.Request.Headers["X-Forwarded-For"] = "203.0.113.7";

        Assert.Equal(expected, ForwardingPolicy.PriorForwardedFor(context, Balancer).ToString());
    }

    [Theory]
    [InlineData("X-Foo", "", true)]
    [InlineData("X-Foo", "X-Foo", false)]
    [InlineData("x-foo", "close, X-FOO", false)]
    [InlineData("X-Foo", "X-Foobar", true)]
    [InlineData("Keep-Alive", "", false)]
    [InlineData("Proxy-Authorization", "", false)]
    [InlineData("Trailer", "", false)]
    [InlineData("Upgrade-Insecure-Requests", "", true)]
    [InlineData("X-Forwarded-For", "", false)]
    [InlineData("Host", "", false)]
    [InlineData("X-Content-Length", "", true)]
    public void CopiesRequestHeader_HopByHopNamedOrWritten_NotCopied(string name, string connection, bool expected) =>
        Assert.Equal(expected, ForwardingPolicy.CopiesRequestHeader(Context("GET", "/").Request, name, connection.Length == 0 ? StringValues.Empty : connection));

    [Fact]
    public void CopiesRequestHeader_ContentLengthKestrelRenamedBesideTransferEncoding_NotCopied()
    {
        var request = Context("POST", "/").Request;
        request.Headers.TransferEncoding = "chunked";

        Assert.False(ForwardingPolicy.CopiesRequestHeader(request, "X-Content-Length", StringValues.Empty));
    }

    [Theory]
    [InlineData("close", false)]
    [InlineData("Keep-Alive", false)]
    [InlineData("keep-alive, close", false)]
    [InlineData(" , close ,", false)]
    [InlineData("X-Foo, close", true)]
    [InlineData("Upgrade", true)]
    public void NamesOtherHeaders_OnlyCloseAndKeepAliveCostNothing(string value, bool expected) =>
        Assert.Equal(expected, ConnectionHeader.NamesOtherHeaders(Encoding.Latin1.GetBytes(value)));

    [Theory]
    [InlineData("/web/a?q")]
    [InlineData("/web/a/b/")]
    [InlineData("/web?q=1/2")]
    [InlineData("/web")]
    [InlineData("/web/")]
    [InlineData("/web/?")]
    [InlineData("/w")]
    [InlineData("//x")]
    [InlineData("/web//x?y?z")]
    public void StripFirstSegment_ConnectionLevelPath_SameTargetAsTheKestrelSide(string target)
    {
        Assert.True(ForwardingPolicy.TryGetTarget(Context("GET", target), stripFirstSegment: true, out var expected));
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var stripped = Encoding.Latin1.GetString(Router.Routing.Direct.PlainConnectionHandler.StripFirstSegment(Encoding.Latin1.GetBytes(target), query < 0 ? target.Length : query));

        // Both paths write "/" before a target that stripping left empty or as a query alone.
        Assert.Equal(ForwardingPolicy.StripsToRoot(expected) ? "/" + expected.ToString() : expected.ToString(), ForwardingPolicy.StripsToRoot(stripped) ? "/" + stripped : stripped);
    }

    private static DefaultHttpContext Context(string method, string rawTarget, string from = "127.0.0.1")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = rawTarget;
        context.Connection.RemoteIpAddress = IPAddress.Parse(from);
        return context;
    }
}
