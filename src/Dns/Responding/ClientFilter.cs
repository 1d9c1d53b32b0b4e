using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Router.Dns.Responding;

/// <summary>
/// Who may ask: only the internal networks, so the node is no open resolver for amplification attacks.
/// IPv4 sources are checked straight from the raw socket address, without allocating.
/// </summary>
internal sealed class ClientFilter
{
    private readonly (uint Network, uint Mask)[] _ipv4;
    private readonly IPNetwork[] _networks;

    public ClientFilter(IEnumerable<IPNetwork> networks)
    {
        _networks = [.. networks];
        _ipv4 = [.. _networks
            .Where(n => n.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
            .Select(n =>
            {
                var mask = n.PrefixLength == 0 ? 0u : uint.MaxValue << (32 - n.PrefixLength);
                return (ToUInt32(n.BaseAddress) & mask, mask);
            })];
    }

    public bool IsAllowed(SocketAddress client)
    {
        if (client.Family == AddressFamily.InterNetwork && client.Size >= 8)
        {
            // sockaddr_in: family (2), port (2), address (4) in network order.
            return IsAllowedIPv4(BinaryPrimitives.ReadUInt32BigEndian(client.Buffer.Span[4..]));
        }

        var endpoint = (IPEndPoint)new IPEndPoint(IPAddress.IPv6Any, 0).Create(client);
        return IsAllowed(endpoint.Address);
    }

    public bool IsAllowed(IPAddress client)
    {
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        if (client.AddressFamily == AddressFamily.InterNetwork)
        {
            return IsAllowedIPv4(ToUInt32(client));
        }

        foreach (var network in _networks)
        {
            if (network.Contains(client))
            {
                return true;
            }
        }

        return false;
    }

    private bool IsAllowedIPv4(uint address)
    {
        foreach (var (network, mask) in _ipv4)
        {
            if ((address & mask) == network)
            {
                return true;
            }
        }

        return false;
    }

    private static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }
}
