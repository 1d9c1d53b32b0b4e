using System.Net;
using Router.Routing;
using Router.Registry.Model;

namespace Router.Tests;

/// <summary>The one private-access rule that the HTTP, host_port and TLS passthrough paths all ask.</summary>
public sealed class InternalNetworksTests
{
    private readonly InternalNetworks _networks = new([IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("127.0.0.0/8")]);

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("127.0.0.1")]
    [InlineData("::ffff:10.1.2.3")]
    public void ShutsOut_PrivateServiceClientInside_Admitted(string client)
    {
        Assert.False(_networks.ShutsOut(Service(isPrivate: true), IPAddress.Parse(client)));
    }

    [Theory]
    [InlineData("192.168.1.1")]
    [InlineData("11.0.0.1")]
    [InlineData("fd00::1")]
    public void ShutsOut_PrivateServiceClientOutside_ShutOut(string client)
    {
        Assert.True(_networks.ShutsOut(Service(isPrivate: true), IPAddress.Parse(client)));
    }

    [Fact]
    public void ShutsOut_PrivateServiceUnknownClientAddress_ShutOut()
    {
        // No address (a Unix socket, a test host) is not proof of being inside.
        Assert.True(_networks.ShutsOut(Service(isPrivate: true), client: null));
    }

    [Theory]
    [InlineData("192.168.1.1")]
    [InlineData("10.1.2.3")]
    public void ShutsOut_PublicService_AnyoneAdmitted(string client)
    {
        Assert.False(_networks.ShutsOut(Service(isPrivate: false), IPAddress.Parse(client)));
        Assert.False(_networks.ShutsOut(Service(isPrivate: false), client: null));
    }

    private static ServiceEntry Service(bool isPrivate) => new() { Name = "web", Scheme = ServiceScheme.Http, Private = isPrivate };
}
