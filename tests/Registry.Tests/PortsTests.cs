using System.Net;
using System.Net.Sockets;
using Router.Testing;

namespace Router.Registry.Tests;

/// <summary>
/// The test suite's port picker: ports below the ephemeral range (where no outgoing connection or DNS query takes
/// them meanwhile), each handed out once, from blocks this process holds a lock on against other test processes.
/// </summary>
public sealed class PortsTests
{
    [Fact]
    public void FreeTcp_AcrossBlocks_DistinctFreeAndBelowTheEphemeralRange()
    {
        var ephemeralLow = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0]);

        var ports = Enumerable.Range(0, 250).Select(_ => Ports.FreeTcp()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, p => Assert.InRange(p, 15000, ephemeralLow - 1));
        using var listener = new TcpListener(IPAddress.Loopback, ports[^1]);
        listener.Start();
    }

    [Fact]
    public void FreeTcpAndUdp_BothProtocolsBindable()
    {
        var port = Ports.FreeTcpAndUdp();

        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
    }

    [Fact]
    public void FreeTcpPair_BothPortsFreeAndNeitherHandedOutAgain()
    {
        var handed = Enumerable.Range(0, 150).Select(_ => Ports.FreeTcpPair()).ToList();
        var after = Enumerable.Range(0, 150).Select(_ => Ports.FreeTcp()).ToList();

        var all = handed.Concat(handed.Select(p => p + 1)).Concat(after).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        using var first = new TcpListener(IPAddress.Loopback, handed[^1]);
        first.Start();
        using var second = new TcpListener(IPAddress.Loopback, handed[^1] + 1);
        second.Start();
    }

    [Fact]
    public void FreeTcp_BlockLockedAgainstOtherProcesses()
    {
        var port = Ports.FreeTcp();
        var block = port - (port - 15000) % 100;
        var path = Path.Combine(Path.GetTempPath(), "router-test-ports", $"{block}.lock");

        // flock(2) conflicts between two opens of the file in one process as between two processes.
        Assert.Throws<IOException>(() => new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
    }
}
