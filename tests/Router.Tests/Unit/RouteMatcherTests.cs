using System.Collections.Immutable;
using Router.Registry;
using Router.Registry.Model;
using Router.Routing;

namespace Router.Tests;

public sealed class RouteMatcherTests
{
    private static readonly RouteTable Table = RouteTable.Empty.Rebuild(new RegistrySnapshot
    {
        Services = new[] { "web", "api", "w" }.ToImmutableDictionary(n => n, n => new ServiceEntry { Name = n, Scheme = ServiceScheme.Http }),
    });

    [Theory]
    [InlineData("web.example.com")]
    [InlineData("web.local")]
    [InlineData("web.local:80")]
    [InlineData("web")]
    [InlineData("WEB.Example.COM")]
    [InlineData("web.a.b.c.d:8080")]
    [InlineData("web.example.com.")]
    public void Match_HostFirstLabel_RoutesByHost(string host)
    {
        var match = RouteMatcher.Match(Table, host, "/api/x");

        Assert.Equal(MatchKind.Host, match.Kind);
        Assert.Equal("web", match.Route!.Name);
    }

    [Theory]
    [InlineData("webx.example.com", "/api", "api")]
    [InlineData("10.0.0.5", "/web", "web")]
    [InlineData("10.0.0.5:80", "/web/a?b", "web")]
    [InlineData("[::1]:80", "/web", "web")]
    [InlineData("example.com", "/WEB/x", "web")]
    [InlineData("", "/w", "w")]
    public void Match_HostNamesNoService_RoutesByFirstPathSegment(string host, string path, string service)
    {
        var match = RouteMatcher.Match(Table, host, path);

        Assert.Equal(MatchKind.Path, match.Kind);
        Assert.Equal(service, match.Route!.Name);
    }

    [Theory]
    [InlineData("webx.example.com", "/webx")]
    [InlineData("example.com", "/")]
    [InlineData("example.com", "")]
    [InlineData("example.com", "/_router/healthz")]
    [InlineData("10.0.0.5", "/webx/web")]
    [InlineData("api-x", "//web")]
    public void Match_Nothing_None(string host, string path)
    {
        Assert.Equal(MatchKind.None, RouteMatcher.Match(Table, host, path).Kind);
    }

    [Theory]
    [InlineData("web.example.com:8080", "web")]
    [InlineData("[fd00::1]", "")]
    [InlineData("192.168.1.1", "")]
    [InlineData("123", "")]
    [InlineData("123.example.com", "123")]
    [InlineData("", "")]
    public void HostLabel_Cases(string host, string label) => Assert.Equal(label, RouteMatcher.HostLabel(host).ToString());
}
