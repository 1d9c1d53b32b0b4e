using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Router.Dns.Forwarding;

/// <summary>
/// Keeps the responder from relaying to itself: the node's resolv.conf points at us, so an upstream taken
/// from it would bounce every unknown name back and forth until the timeout.
/// </summary>
internal static class UpstreamGuard
{
    public static bool IsSelf(IPEndPoint upstream, IPEndPoint listen)
    {
        if (upstream.Port != listen.Port)
        {
            return false;
        }

        var address = Normalize(upstream.Address);
        var ours = Normalize(listen.Address);
        if (address.Equals(ours))
        {
            return true;
        }

        // A wildcard listener answers on every local address, loopback included.
        if (ours.Equals(IPAddress.Any) || ours.Equals(IPAddress.IPv6Any))
        {
            return IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || LocalAddresses().Contains(address);
        }

        return false;
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static HashSet<IPAddress> LocalAddresses()
    {
        var addresses = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    addresses.Add(Normalize(unicast.Address));
                }
            }
        }
        catch (NetworkInformationException)
        {
        }
        catch (SocketException)
        {
        }

        return addresses;
    }
}
