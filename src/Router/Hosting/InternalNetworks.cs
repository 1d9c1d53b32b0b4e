using System.Net;

namespace Router.Hosting;

/// <summary>The client networks that may use private services and the DNS responder.</summary>
internal sealed class InternalNetworks
{
    public static readonly IReadOnlyList<IPNetwork> Defaults =
    [
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("172.17.0.0/16"),
        IPNetwork.Parse("10.0.0.0/8"),
    ];

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
