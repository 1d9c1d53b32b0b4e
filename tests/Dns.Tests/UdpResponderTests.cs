using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Dns.Cache;
using Router.Dns.Forwarding;
using Router.Dns.Reporting;
using Router.Dns.Responding;
using Router.Dns.Tests.Support;
using Router.Registry.Model;
using Router.Testing;

namespace Router.Dns.Tests;

/// <summary>
/// The UDP loop itself, both ways it runs: in batches (recvmmsg/sendmmsg, Linux) and one datagram at a time
/// (elsewhere; forced here). Each answers every client its own queries, and ends its thread when disposed while
/// blocked in a receive. Like the whole suite, Linux only.
/// </summary>
public class UdpResponderTests
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task LocalQueries_TwoClients_EachAnsweredAndStopsPromptly(bool batched, bool asyncUsedFirst)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var server = (IPEndPoint)socket.LocalEndPoint!;
        if (asyncUsedFirst)
        {
            // An async call turns the descriptor non-blocking underneath: recvmmsg then answers EAGAIN, and the
            // batch loop must wait for datagrams instead of failing or spinning.
            using var sink = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            await socket.SendToAsync(new byte[] { 0 }, SocketFlags.None, sink.Client.LocalEndPoint!);
        }

        var zone = new LocalZone("local", IPAddress.Parse("10.9.8.7"), 5, () => RegistrySnapshot.Empty);
        var processor = new DnsProcessor(zone, new DnsCache(100, TimeProvider.System),
            new UpstreamForwarder([], TimeSpan.FromSeconds(1), TimeProvider.System, NullLogger.Instance), new DnsStatistics());
        var logger = new RecordingLogger<UdpResponder>();
        var responder = new UdpResponder(socket, processor, new ClientFilter([IPNetwork.Parse("127.0.0.0/8")]), logger, batched);
        responder.Start();
        try
        {
            using var a = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            using var b = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            for (ushort id = 1; id <= 5; id++)
            {
                await a.SendAsync(RawDns.Query($"a{id}.local", 1, id: id), server);
                await b.SendAsync(RawDns.Query($"b{id}.local", 1, id: (ushort)(100 + id)), server);
            }

            foreach (var (client, first) in new[] { (a, 1), (b, 101) })
            {
                var ids = new HashSet<int>();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                for (var i = 0; i < 5; i++)
                {
                    var answer = (await client.ReceiveAsync(timeout.Token)).Buffer;
                    Assert.Equal(1, RawDns.AnswerCount(answer));
                    Assert.Equal(new byte[] { 10, 9, 8, 7 }, answer[^4..]);
                    ids.Add(RawDns.Id(answer));
                }

                Assert.Equal(Enumerable.Range(first, 5).ToHashSet(), ids);
            }

            // Nothing went wrong on the way (a non-blocking descriptor's EAGAIN would be reported as a failed packet).
            Assert.Empty(logger.Lines);
        }
        finally
        {
            // Blocked in its receive: disposing must wake the thread and let it end, not leave it blocked after the join.
            responder.Dispose();
            Assert.False(responder.Running, "the UDP thread still runs after Dispose");

            // The wake-up is not a packet: stopping writes no "packet could not be handled" line.
            Assert.Empty(logger.Lines);
        }
    }
}
