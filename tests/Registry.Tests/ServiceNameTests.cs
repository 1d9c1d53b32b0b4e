using Router.Registry.Validation;

namespace Router.Registry.Tests;

public sealed class ServiceNameTests
{
    [Theory]
    [InlineData("web")]
    [InlineData("w")]
    [InlineData("web-2")]
    [InlineData("Web")]
    [InlineData("0abc")]
    public void IsValid_DnsLabels_True(string name) => Assert.True(ServiceName.IsValid(name));

    [Theory]
    [InlineData("")]
    [InlineData("-web")]
    [InlineData("web-")]
    [InlineData("we_b")]
    [InlineData("_router")]
    [InlineData("web.x")]
    [InlineData("wéb")]
    [InlineData("web ")]
    public void IsValid_NotDnsLabels_False(string name) => Assert.False(ServiceName.IsValid(name));

    [Fact]
    public void IsValid_64Characters_False()
    {
        Assert.True(ServiceName.IsValid(new string('a', 63)));
        Assert.False(ServiceName.IsValid(new string('a', 64)));
    }
}
