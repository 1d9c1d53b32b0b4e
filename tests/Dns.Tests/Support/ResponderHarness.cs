using System.Net;
using DnsClient;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Router.Registry.Model;

namespace Router.Dns.Tests.Support;

/// <summary>A real responder on 127.0.0.1 with a free port and a clock the test moves.</summary>
internal sealed class ResponderHarness : IAsyncDisposable
{
    private ResponderHarness(DnsResponder responder, FakeTimeProvider time, IPEndPoint endPoint)
    {
        Responder = responder;
        Time = time;
        EndPoint = endPoint;
    }

    public DnsResponder Responder { get; }

    public FakeTimeProvider Time { get; }

    public IPEndPoint EndPoint { get; }

    public RegistrySnapshot Snapshot { get; set; } = RegistrySnapshot.Empty;

    /// <remarks>
    /// The upstream timeout is 1.5 s: short enough that a silent first upstream fails over well inside the test
    /// clients' 3 s, long enough that an in-process upstream slowed by a loaded machine is not taken for silent
    /// (at 500 ms a busy CI run turned such answers into SERVFAIL, and the next query missed the cache).
    /// </remarks>
    public static Task<ResponderHarness> StartAsync(params IPEndPoint[] upstreams) =>
        StartAsync(new DnsOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0), Upstreams = upstreams, UpstreamTimeout = TimeSpan.FromMilliseconds(1500) });

    public static async Task<ResponderHarness> StartAsync(DnsOptions options, RegistrySnapshot? snapshot = null)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        ResponderHarness? harness = null;
        var responder = new DnsResponder(options, () => harness?.Snapshot ?? RegistrySnapshot.Empty, time, NullLogger<DnsResponder>.Instance);
        await responder.StartAsync(CancellationToken.None);
        var endPoint = responder.LocalEndPoint ?? throw new InvalidOperationException("the responder did not bind 127.0.0.1");
        harness = new ResponderHarness(responder, time, endPoint);
        if (snapshot is not null)
        {
            harness.Snapshot = snapshot;
        }

        return harness;
    }

    /// <summary>An independent client (DnsClient) pointed at the responder, with its own cache off.</summary>
    public LookupClient Client(bool tcpOnly = false) => new(new LookupClientOptions(new NameServer(EndPoint))
    {
        UseCache = false,
        Retries = 1,
        Timeout = TimeSpan.FromSeconds(3),
        UseTcpOnly = tcpOnly,
        ContinueOnDnsError = false,
        ThrowDnsErrors = false,
    });

    public async ValueTask DisposeAsync() => await Responder.DisposeAsync();
}
