using System.Net;

namespace Router.Routing;

/// <summary>
/// The sources (--trusted-proxies) whose X-Forwarded-Proto and X-Forwarded-For the router believes: a
/// TLS-terminating load balancer in front of it. Empty by default: nobody is believed.
/// </summary>
internal sealed class TrustedProxies
{
    public static readonly TrustedProxies None = new([]);

    private readonly IPNetwork[] _networks;

    public TrustedProxies(IEnumerable<IPNetwork> networks)
    {
        _networks = [.. networks];
    }

    public bool IsEmpty => _networks.Length == 0;

    public bool Contains(IPAddress? address)
    {
        if (address is null || _networks.Length == 0)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
