using System.Net;

namespace Router.Routing;

/// <summary>A list of networks and the one membership test the router's address rules share (internal networks, trusted proxies).</summary>
internal sealed class NetworkSet(IEnumerable<IPNetwork> networks)
{
    private readonly IPNetwork[] _networks = [.. networks];

    public IReadOnlyList<IPNetwork> Networks => _networks;

    public bool IsEmpty => _networks.Length == 0;

    /// <summary>Whether <paramref name="address"/> is in one of the networks; an IPv4-mapped IPv6 address counts as its IPv4 one.</summary>
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
