using System.Net;
using Router.Dns;
using Router.Registry.Model;

namespace Router.Routing;

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

    /// <summary>
    /// The private-access rule, for every path (HTTP, host_port, TLS passthrough): a private service answers only
    /// clients on the internal networks (DESIGN); to anyone else it is as if it did not exist.
    /// </summary>
    public bool ShutsOut(ServiceEntry service, IPAddress? client) => service.Private && !Contains(client);
}
