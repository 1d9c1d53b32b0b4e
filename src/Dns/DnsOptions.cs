using System.Net;
using Router.Dns.Wire;

namespace Router.Dns;

/// <summary>Settings of the DNS responder; the router fills them from <c>--dns*</c> and <c>--internal-networks</c>.</summary>
public sealed record DnsOptions
{
    /// <summary>DESIGN's default internal networks: loopback, the docker bridge and 10/8.</summary>
    public static IReadOnlyList<IPNetwork> DefaultInternalNetworks { get; } =
    [
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("172.17.0.0/16"),
        IPNetwork.Parse("10.0.0.0/8"),
    ];

    /// <summary>UDP and TCP address and port (port 0 picks a free one; see <see cref="DnsResponder.LocalEndPoint"/>).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>Every name at or below it gets <see cref="Answer"/>.</summary>
    public string Zone { get; init; } = "local";

    /// <summary>The address the zone's names resolve to; null means the listen address.</summary>
    public IPAddress? Answer { get; init; }

    /// <summary>Resolvers that get every other name, tried in turn; one equal to ourselves is ignored.</summary>
    public IReadOnlyList<IPEndPoint> Upstreams { get; init; } = [];

    /// <summary>Only these clients are answered; the rest get REFUSED.</summary>
    public IReadOnlyList<IPNetwork> InternalNetworks { get; init; } = DefaultInternalNetworks;

    /// <summary>How long one upstream gets to answer before the next is asked.</summary>
    public TimeSpan UpstreamTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>TTL of the zone's answers, and the MINIMUM of its SOA: short, since the registry changes.</summary>
    public int LocalTtl { get; init; } = 5;

    /// <summary>The most upstream answers kept.</summary>
    public int CacheSize { get; init; } = 10_000;

    /// <summary>The address put in answers.</summary>
    public IPAddress AnswerAddress => Answer ?? Listen.Address;

    /// <summary>Every problem with these options at once, each naming its option; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        try
        {
            if (DnsName.ToWire(Zone).Length <= 1)
            {
                errors.Add("--dns-zone: the root cannot be the zone");
            }
        }
        catch (ArgumentException)
        {
            errors.Add($"--dns-zone: '{Zone}' is not a valid domain name");
        }

        if (AnswerAddress.Equals(IPAddress.Any) || AnswerAddress.Equals(IPAddress.IPv6Any))
        {
            errors.Add($"--dns-answer: needed when --dns listens on the wildcard address {Listen.Address}");
        }

        if (UpstreamTimeout <= TimeSpan.Zero)
        {
            errors.Add("upstream timeout: must be positive");
        }

        if (LocalTtl < 0)
        {
            errors.Add("local TTL: must not be negative");
        }

        if (CacheSize < 1)
        {
            errors.Add("cache size: must be at least 1");
        }

        return errors;
    }
}
