using System.Net;

namespace Router.Routing;

/// <summary>
/// The sources (--trusted-proxies) whose X-Forwarded-Proto and X-Forwarded-For the router believes: a
/// TLS-terminating load balancer in front of it. Empty by default: nobody is believed.
/// </summary>
internal sealed class TrustedProxies
{
    public static readonly TrustedProxies None = new([]);

    private readonly NetworkSet _networks;

    public TrustedProxies(IEnumerable<IPNetwork> networks)
    {
        _networks = new NetworkSet(networks);
    }

    public bool IsEmpty => _networks.IsEmpty;

    public bool Contains(IPAddress? address) => _networks.Contains(address);
}
