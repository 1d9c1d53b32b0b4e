using System.Net;
using Microsoft.AspNetCore.Http;
using Router.Routing;

namespace Router.Tests;

/// <summary>Where a plain request to an https-only service is redirected, and with which status.</summary>
public sealed class HttpsRedirectTests
{
    [Theory]
    [InlineData(8443, "secure.example.com", "/a/b", "?x=1&y=%20", "https://secure.example.com:8443/a/b?x=1&y=%20")]
    [InlineData(443, "secure.example.com:80", "/", "", "https://secure.example.com/")]
    [InlineData(8443, "[::1]:8080", "/p", "", "https://[::1]:8443/p")]
    [InlineData(8443, "secure", "/a%2Fb", "", "https://secure:8443/a%2Fb")]
    public void Location_HttpsServed_ThisRoutersPortUnless443(int port, string host, string path, string query, string expected)
    {
        var redirect = new HttpsRedirect(new IPEndPoint(IPAddress.Any, port));

        Assert.Equal(expected, redirect.Location(Request(host, path, query)));
    }

    [Fact]
    public void Location_NoHttpsServed_Null()
    {
        var redirect = new HttpsRedirect(null);

        Assert.False(redirect.HttpsServed);
        Assert.Null(redirect.Location(Request("secure.example.com", "/", "")));
    }

    [Fact]
    public void Location_NoHost_Null()
    {
        Assert.Null(new HttpsRedirect(new IPEndPoint(IPAddress.Any, 443)).Location(Request("", "/", "")));
    }

    [Theory]
    [InlineData("GET", 301)]
    [InlineData("HEAD", 301)]
    [InlineData("POST", 308)]
    [InlineData("PUT", 308)]
    [InlineData("DELETE", 308)]
    [InlineData("OPTIONS", 308)]
    public void StatusFor_GetAndHeadMoved_OthersPermanentRedirect(string method, int status)
    {
        Assert.Equal(status, HttpsRedirect.StatusFor(method));
    }

    [Theory]
    [InlineData("/.well-known/acme-challenge/token-1", true)]
    [InlineData("/.well-known/acme-challenge", true)]
    [InlineData("/.well-known/acme-challengex/token", false)]
    [InlineData("/.well-known/other", false)]
    [InlineData("/x/.well-known/acme-challenge/token", false)]
    public void IsExempt_OnlyAcmeChallenges(string path, bool exempt)
    {
        Assert.Equal(exempt, HttpsRedirect.IsExempt(new PathString(path)));
    }

    private static HttpRequest Request(string host, string path, string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Host = new HostString(host);
        context.Request.Path = PathString.FromUriComponent(path);
        context.Request.QueryString = new QueryString(query);
        return context.Request;
    }
}
