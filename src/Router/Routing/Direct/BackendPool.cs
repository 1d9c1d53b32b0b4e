using System.Diagnostics;

namespace Router.Routing.Direct;

/// <summary>
/// The idle kept-alive connections to one backend host, newest on top so the busiest stay warm and the
/// rest age out. Closed for good when the host leaves the registry.
/// </summary>
internal sealed class BackendPool : DestinationPool
{
    /// <summary>Idle connections kept per host; more are closed as they come back.</summary>
    public const int MaxIdle = 512;

    /// <summary>A connection idle this long is closed (HttpClient's default is 60 s; nginx closes at 75 s).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(50);

    private static readonly long IdleTimeoutTicks = (long)(IdleTimeout.TotalSeconds * Stopwatch.Frequency);

    private readonly Stack<BackendConnection> _idle = new();
    private bool _closed;

    public int IdleCount
    {
        get
        {
            lock (_idle)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>
    /// An idle connection on which nothing arrived since its last response ended, or null. Every rent checks,
    /// however short the idle time: a response's leftovers come right after it, and must never be read as
    /// the next client's answer.
    /// </summary>
    public BackendConnection? Rent()
    {
        var now = Stopwatch.GetTimestamp();
        while (true)
        {
            BackendConnection? connection;
            lock (_idle)
            {
                if (!_idle.TryPop(out connection))
                {
                    return null;
                }
            }

            if (now - connection.IdleSince < IdleTimeoutTicks && !connection.LooksClosed())
            {
                return connection;
            }

            connection.Dispose();
        }
    }

    /// <summary>
    /// Ends a request on <paramref name="connection"/>: back to the pool when its response ended cleanly
    /// (<paramref name="reuse"/>) and nothing cut it, otherwise closed.
    /// </summary>
    public void Release(BackendConnection connection, bool reuse)
    {
        connection.Idle();
        if (reuse && connection.AbortedBy == AbortReason.None)
        {
            Return(connection);
        }
        else
        {
            connection.Dispose();
        }
    }

    /// <summary>Takes back a connection whose last response ended exactly at the end of what was received.</summary>
    public void Return(BackendConnection connection)
    {
        connection.IdleSince = Stopwatch.GetTimestamp();
        lock (_idle)
        {
            if (!_closed && _idle.Count < MaxIdle)
            {
                _idle.Push(connection);
                return;
            }
        }

        connection.Dispose();
    }

    /// <summary>Closes the connections idle longer than <see cref="IdleTimeout"/> (they are at the bottom).</summary>
    public void Sweep()
    {
        var now = Stopwatch.GetTimestamp();
        List<BackendConnection>? expired = null;
        lock (_idle)
        {
            if (_idle.Count == 0)
            {
                return;
            }

            var kept = new List<BackendConnection>(_idle.Count);
            while (_idle.TryPop(out var connection))
            {
                if (now - connection.IdleSince < IdleTimeoutTicks)
                {
                    kept.Add(connection);
                }
                else
                {
                    (expired ??= []).Add(connection);
                }
            }

            // kept is newest first; push back oldest first so the newest is on top again.
            for (var i = kept.Count - 1; i >= 0; i--)
            {
                _idle.Push(kept[i]);
            }
        }

        expired?.ForEach(c => c.Dispose());
    }

    /// <summary>The host left: idle connections close now, busy ones when they come back.</summary>
    public override void Close()
    {
        BackendConnection[] idle;
        lock (_idle)
        {
            _closed = true;
            idle = [.. _idle];
            _idle.Clear();
        }

        foreach (var connection in idle)
        {
            connection.Dispose();
        }
    }
}
