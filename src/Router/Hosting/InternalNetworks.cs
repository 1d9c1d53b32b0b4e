using System.Net;
using Router.Dns;

namespace Router.Hosting;

/// <summary>The client networks that may use private services and the DNS responder.</summary>
internal sealed class InternalNetworks
{
    /// <summary>DESIGN's default: loopback, the docker bridge, 10/8 — one list, shared with the DNS responder.</summary>
    public static IReadOnlyList<IPNetwork> Defaults => DnsOptions.DefaultInternalNetworks;

    private readonly IPNetwork[] _networks;

    public InternalNetworks(IEnumerable<IPNetwork> networks)
    {
        _networks = [.. networks];
    }

    public IReadOnlyList<IPNetwork> Networks => _networks;

    public bool Contains(IPAddress? address)
    {
        if (address is null)
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
