using System.Net;
using Router.Dns.Forwarding;

namespace Router.Dns.Tests;

public class DnsOptionsTests
{
    [Fact]
    public void Validate_Defaults_NoErrors()
    {
        var options = new DnsOptions { Listen = new IPEndPoint(IPAddress.Parse("172.17.42.1"), 53) };

        Assert.Empty(options.Validate());
        Assert.Equal(IPAddress.Parse("172.17.42.1"), options.AnswerAddress);
    }

    [Fact]
    public void Validate_EveryProblem_ReportedAtOnceNamingTheOption()
    {
        var options = new DnsOptions
        {
            Listen = new IPEndPoint(IPAddress.Any, 53),
            Zone = "bad..zone",
            LocalTtl = -1,
            UpstreamTimeout = TimeSpan.Zero,
        };

        var errors = options.Validate();

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("--dns-zone", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--dns-answer", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddDnsResponder(options));
    }

    [Theory]
    [InlineData("127.0.0.1:53", "127.0.0.1:53", true)]
    [InlineData("127.0.0.5:53", "0.0.0.0:53", true)]
    [InlineData("127.0.0.1:5353", "0.0.0.0:53", false)]
    [InlineData("127.0.0.2:53", "127.0.0.1:53", false)]
    [InlineData("10.9.9.9:53", "127.0.0.1:53", false)]
    public void IsSelf_UpstreamAgainstListen_DetectsOurselves(string upstream, string listen, bool expected)
    {
        Assert.Equal(expected, UpstreamGuard.IsSelf(IPEndPoint.Parse(upstream), IPEndPoint.Parse(listen)));
    }
}
