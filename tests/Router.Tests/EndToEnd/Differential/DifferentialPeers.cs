using System.Collections.Concurrent;
using Router.Testing;

namespace Router.Tests.Differential;

/// <summary>A peer that forwards the suite's requests to the scripted backend.</summary>
public enum Peer
{
    /// <summary>The router with its default forwarding (the direct path for requests without a body; plain GET and HEAD taken at the connection).</summary>
    Direct,

    /// <summary>The router with <c>--http-forwarder kestrel</c>: the direct path, every request parsed by Kestrel first.</summary>
    Kestrel,

    /// <summary>The router with <c>--http-forwarder yarp</c>.</summary>
    Yarp,

    /// <summary>The router with its default forwarding on its own event loops (<c>--http-transport epoll</c>).</summary>
    Loops,

    /// <summary>HAProxy 2.6, the reference.</summary>
    Haproxy,
}

/// <summary>
/// Started once per test class: one scripted raw backend that answers each request with the response of the
/// case its marker header names, the router four times (default, <c>--http-forwarder kestrel</c>, <c>--http-forwarder
/// yarp</c>, <c>--http-transport epoll</c>) routing the
/// service <c>web</c> to it, and HAProxy in front of it.
/// </summary>
public sealed class DifferentialPeers : IAsyncLifetime
{
    private static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(10);

    private readonly List<IAsyncDisposable> _owned = [];
    private readonly SemaphoreSlim _starting = new(1, 1);
    private readonly ConcurrentDictionary<string, DifferentialCase> _running = new();
    private RawHttpBackend? _backend;
    private readonly Dictionary<Peer, int> _ports = [];

    public RawHttpBackend Backend => _backend ?? throw new InvalidOperationException("not started");

    public async Task StartAsync(EtcdProcess etcd)
    {
        await _starting.WaitAsync();
        try
        {
            if (_backend is not null)
            {
                return;
            }

            var backend = RawHttpBackend.Start(AnswerAsync);
            _owned.Add(backend);
            var prefix = EtcdFixture.NewPrefix();
            await etcd.PutAsync($"{prefix}/web/scheme", "http");
            await etcd.PutAsync($"{prefix}/web/hosts/1", backend.Address);
            foreach (var (peer, args) in new[] { (Peer.Direct, Array.Empty<string>()), (Peer.Kestrel, ["--http-forwarder", "kestrel"]), (Peer.Yarp, ["--http-forwarder", "yarp"]), (Peer.Loops, ["--http-transport", "epoll"]) })
            {
                var router = await RouterProcess.StartAsync(etcd.Url, prefix, args);
                _owned.Add(router);
                await router.WaitStatusAsync("web.example.com", "/", System.Net.HttpStatusCode.OK);
                _ports[peer] = router.HttpPort;
            }

            var haproxy = await HaproxyProcess.StartAsync(backend.Address);
            _owned.Add(haproxy);
            _ports[Peer.Haproxy] = haproxy.Port;
            _backend = backend;
        }
        finally
        {
            _starting.Release();
        }
    }

    /// <summary>Sends the case's request through <paramref name="peer"/> on a new connection and records what happened.</summary>
    public async Task<Observation> RunAsync(DifferentialCase @case, Peer peer)
    {
        var marker = $"{@case.Name}/{peer}/{Guid.NewGuid():N}";
        _running[marker] = @case;
        try
        {
            var interim = new List<RawHttpMessage>();
            RawHttpMessage? final = null;
            using (var timeout = new CancellationTokenSource(ExchangeTimeout))
            using (var client = new System.Net.Sockets.TcpClient())
            {
                await client.ConnectAsync(System.Net.IPAddress.Loopback, _ports[peer], timeout.Token);
                var stream = client.GetStream();
                await stream.WriteAsync(@case.RequestBytes(marker), timeout.Token);
                var reader = new RawHttpReader(System.IO.Pipelines.PipeReader.Create(stream));
                try
                {
                    while (await reader.ReadResponseAsync(@case.Head, timeout.Token) is { } response)
                    {
                        if (response.Status >= 200)
                        {
                            final = response;
                            break;
                        }

                        interim.Add(response);
                    }
                }
                catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException)
                {
                    // A cut or malformed answer counts as none: "closed".
                    final = null;
                }
            }

            // The backend records a request before it answers, so what it got is in by now.
            var received = Backend.Requests.Where(r => r.Values(Observation.CaseHeader).Contains(marker)).ToList();
            return Observation.From(received, interim, final);
        }
        finally
        {
            _running.TryRemove(marker, out _);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        _starting.Dispose();
    }

    private async Task AnswerAsync(RawExchange exchange)
    {
        var marker = exchange.Request.Values(Observation.CaseHeader) is [var one] ? one : "";
        if (!_running.TryGetValue(marker, out var @case))
        {
            // The routers' readiness probe, or a request that lost its marker.
            await exchange.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            return;
        }

        await exchange.SendAsync(@case.Response);
        if (@case.CloseAfter)
        {
            exchange.Close();
        }
    }
}
