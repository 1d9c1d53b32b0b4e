using System.Net;
using Router.Dns;

namespace Router.Hosting;

/// <summary>The client networks that may use private services and the DNS responder.</summary>
internal sealed class InternalNetworks
{
    /// <summary>DESIGN's default: loopback, the docker bridge, 10/8 — one list, shared with the DNS responder.</summary>
    public static IReadOnlyList<IPNetwork> Defaults => DnsOptions.DefaultInternalNetworks;

    private readonly NetworkSet _networks;

    public InternalNetworks(IEnumerable<IPNetwork> networks)
    {
        _networks = new NetworkSet(networks);
    }

    public IReadOnlyList<IPNetwork> Networks => _networks.Networks;

    public bool Contains(IPAddress? address) => _networks.Contains(address);
}
