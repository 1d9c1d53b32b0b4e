using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Router.Metrics;
using Router.Routing;

namespace Router.Admin;

/// <summary>
/// The last minutes of each service's request rate and 5xx rate, for the status page's charts: the request
/// counters are read every <see cref="Interval"/> and the difference kept in a small ring per service.
/// Nothing on the request path: it reads the counters <see cref="RouterMetrics"/> keeps anyway.
/// </summary>
internal sealed class RequestRateHistory(RouterMetrics metrics, RouteTableHolder routes, TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>Points kept: ten minutes at one every five seconds.</summary>
    public const int Points = 120;

    private readonly ConcurrentDictionary<string, Ring> _services = new(StringComparer.Ordinal);

    /// <summary>Per service, requests and 5xx answers per second for each interval, oldest first.</summary>
    public IReadOnlyDictionary<string, (double[] Requests, double[] Errors)> Read() =>
        _services.ToDictionary(p => p.Key, p => p.Value.Read(), StringComparer.Ordinal);

    /// <summary>Takes one point now; the timer calls it, and so can a test.</summary>
    public void Sample()
    {
        var table = routes.Current;
        foreach (var (name, counters) in metrics.Services)
        {
            if (table.TryGet(name, out _))
            {
                _services.GetOrAdd(name, static _ => new Ring()).Add(counters.Totals(), Interval.TotalSeconds);
            }
        }

        foreach (var name in _services.Keys)
        {
            if (!table.TryGet(name, out _))
            {
                _services.TryRemove(name, out _);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Sample();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private sealed class Ring
    {
        private readonly Lock _gate = new();
        private readonly double[] _requests = new double[Points];
        private readonly double[] _errors = new double[Points];
        private (long Requests, long Errors)? _last;
        private int _next;
        private int _count;

        public void Add((long Requests, long Errors) totals, double seconds)
        {
            lock (_gate)
            {
                // The first reading only sets the base. A counter that went back (the service left and came back
                // between scrapes) starts again from its new value.
                if (_last is { } last && totals.Requests >= last.Requests)
                {
                    _requests[_next] = (totals.Requests - last.Requests) / seconds;
                    _errors[_next] = Math.Max(0, totals.Errors - last.Errors) / seconds;
                    _next = (_next + 1) % Points;
                    _count = Math.Min(_count + 1, Points);
                }

                _last = totals;
            }
        }

        public (double[] Requests, double[] Errors) Read()
        {
            lock (_gate)
            {
                var requests = new double[_count];
                var errors = new double[_count];
                for (var i = 0; i < _count; i++)
                {
                    var at = (_next - _count + i + Points) % Points;
                    requests[i] = _requests[at];
                    errors[i] = _errors[at];
                }

                return (requests, errors);
            }
        }
    }
}
