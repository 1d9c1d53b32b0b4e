using Router.Registry.Validation;

namespace Router.Registry.Tests;

public sealed class HostAddressTests
{
    [Theory]
    [InlineData("10.0.0.1:80", "10.0.0.1", 80)]
    [InlineData("[fd00::1]:8080", "fd00::1", 8080)]
    [InlineData("[::1]:1", "::1", 1)]
    [InlineData("web-1:65535", "web-1", 65535)]
    [InlineData("Web-1.Example.com:443", "web-1.example.com", 443)]
    public void TryParse_ValidForms_ReturnsHostAndPort(string text, string host, int port)
    {
        Assert.True(HostAddress.TryParse(text, out var parsedHost, out var parsedPort, out var error), error);
        Assert.Equal(host, parsedHost);
        Assert.Equal(port, parsedPort);
    }

    [Theory]
    [InlineData("10.0.0.1", "no port")]
    [InlineData("10.0.0.1:0", "port")]
    [InlineData("10.0.0.1:65536", "port")]
    [InlineData("10.0.0.1:-1", "port")]
    [InlineData("10.0.0.1:80a", "port")]
    [InlineData("10.0.0.1: 80", "port")]
    [InlineData("10.0.0:80", "IPv4")]
    [InlineData("999.0.0.1:80", "IPv4")]
    [InlineData("fd00::1:80", "brackets")]
    [InlineData("[fd00::1]80", "[address]:port")]
    [InlineData("[10.0.0.1]:80", "IPv6")]
    [InlineData(":80", "empty")]
    [InlineData("under_score:80", "host name")]
    [InlineData("-web:80", "host name")]
    [InlineData("web..x:80", "host name")]
    public void TryParse_BadForms_FailsWithReason(string text, string reason)
    {
        Assert.False(HostAddress.TryParse(text, out _, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
