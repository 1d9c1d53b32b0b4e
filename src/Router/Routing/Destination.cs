using System.Diagnostics.CodeAnalysis;
using System.Net;
using Router.Registry.Model;

namespace Router.Routing;

/// <summary>
/// One backend host as the proxy sees it, with its passive health: a connect failure sets it aside for a
/// while, growing with repeated failures; the first success brings it back.
/// </summary>
[SuppressMessage("Reliability", "CA1001", Justification = "The token source holds no unmanaged state unless its wait handle is used; its CancelAfter timer ends when it fires. Destinations are shared by route tables and have no single owner to dispose them.")]
internal sealed class Destination
{
    private static readonly TimeSpan FirstSetAside = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxSetAside = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _retired = new();
    private DestinationPool? _pool;
    private bool _retiring;
    private long _setAsideUntil;
    private int _failures;

    public Destination(ServiceHost host)
    {
        Host = host;
        Prefix = $"http://{host.Authority}/";
        EndPoint = IPAddress.TryParse(host.Host, out var address) ? new IPEndPoint(address, host.Port) : new DnsEndPoint(host.Host, host.Port);
    }

    /// <summary>Where TCP relays connect: parsed once, so an IP host costs no name lookup per connection.</summary>
    public EndPoint EndPoint { get; }

    public ServiceHost Host { get; }

    /// <summary>The URL prefix requests are forwarded to.</summary>
    public string Prefix { get; }

    public int ConsecutiveFailures => Volatile.Read(ref _failures);

    /// <summary>Cancelled when the drain time after this host left the registry is over: what still runs on it ends.</summary>
    public CancellationToken Retired => _retired.Token;

    /// <summary>The direct HTTP path's kept-alive connections to this host, made by <paramref name="create"/> on first use.</summary>
    public DestinationPool Pool(Func<DestinationPool> create) => Volatile.Read(ref _pool) ?? CreatePool(create);

    public DestinationPool? PoolIfCreated => Volatile.Read(ref _pool);

    /// <summary>The host left the registry: it gets no new work, and what runs on it gets <paramref name="drain"/> to finish.</summary>
    public void Retire(TimeSpan drain)
    {
        lock (_retired)
        {
            _retiring = true;
            _pool?.Close();
        }

        _retired.CancelAfter(drain);
    }

    private DestinationPool CreatePool(Func<DestinationPool> create)
    {
        lock (_retired)
        {
            if (_pool is null)
            {
                var pool = create();
                if (_retiring)
                {
                    pool.Close();
                }

                Volatile.Write(ref _pool, pool);
            }

            return _pool;
        }
    }

    public bool IsUsable(long nowTimestamp) => nowTimestamp >= Volatile.Read(ref _setAsideUntil);

    public DateTimeOffset? SetAsideUntil(TimeProvider time)
    {
        var until = Volatile.Read(ref _setAsideUntil);
        var now = time.GetTimestamp();
        return until <= now ? null : time.GetUtcNow() + time.GetElapsedTime(now, until);
    }

    /// <summary>Sets the host aside, longer after each failure in a row.</summary>
    /// <returns>True for the first failure in a row (the one worth a warning); false while it keeps failing.</returns>
    public bool ReportConnectFailure(TimeProvider time)
    {
        var failures = Interlocked.Increment(ref _failures);
        var ticks = FirstSetAside.Ticks << Math.Min(failures - 1, 4);
        var pause = TimeSpan.FromTicks(Math.Min(ticks, MaxSetAside.Ticks));
        Volatile.Write(ref _setAsideUntil, time.GetTimestamp() + (long)(pause.TotalSeconds * time.TimestampFrequency));
        return failures == 1;
    }

    /// <summary>The host answered: it is usable again at once.</summary>
    /// <returns>
    /// True for the success that ended a run of failures (the one worth a line saying the host is back); false
    /// for every other. The read first keeps the common case (never failed) to one shared read, no write.
    /// </returns>
    public bool ReportSuccess()
    {
        if (Volatile.Read(ref _failures) == 0 || Interlocked.Exchange(ref _failures, 0) == 0)
        {
            return false;
        }

        Volatile.Write(ref _setAsideUntil, 0);
        return true;
    }
}
