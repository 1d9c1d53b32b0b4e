using System.Collections.Concurrent;
namespace Router.Metrics;

/// <summary>
/// The router's counters: the features count into them on their hot paths; the admin port renders them
/// (<c>Admin/MetricsText</c>), so this folder knows no feature and no text format.
/// </summary>
internal sealed class RouterMetrics
{
    private readonly ConcurrentDictionary<string, ServiceMetrics> _services = new(StringComparer.Ordinal);

    /// <summary>Counters of the direct HTTP/1.1 path.</summary>
    public DirectPathCounters Direct { get; } = new();

    /// <summary>Counters of the TCP relays, per service.</summary>
    public TcpCounters Tcp { get; } = new();

    /// <summary>The services counted so far (those routed now, after the last scrape's clean-up).</summary>
    public IEnumerable<KeyValuePair<string, ServiceMetrics>> Services => _services;

    /// <summary>Counters of TLS passthrough on the HTTPS port.</summary>
    public TlsPassthroughCounters Tls { get; } = new();

    public ServiceMetrics For(string service) => _services.GetOrAdd(service, static _ => new ServiceMetrics());

    /// <summary>
    /// Drops the counters of services that left the registry, so the series a scrape returns stay bounded by
    /// the services routed now. A service that comes back starts from zero (a counter reset, which Prometheus'
    /// rate() expects); a request still finishing on a removed service may record once more, and is dropped
    /// again at the next scrape.
    /// </summary>
    public void Forget(Func<string, bool> isRouted)
    {
        foreach (var name in _services.Keys)
        {
            if (!isRouted(name))
            {
                _services.TryRemove(name, out _);
            }
        }

        Tcp.Forget(isRouted);
        Tls.Services.Forget(isRouted);
    }
}
