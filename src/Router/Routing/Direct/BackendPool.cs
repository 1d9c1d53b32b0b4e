using System.Diagnostics;
using Router.Loops;

namespace Router.Routing.Direct;

/// <summary>
/// The idle kept-alive connections to one backend host, newest on top so the busiest stay warm and the
/// rest age out. Closed for good when the host leaves the registry. A connection lives where it was opened: on an
/// <see cref="EventLoop"/> (a <see cref="LoopSocket"/>) or on .NET's sockets, and it goes back to the stack of that
/// place. A request takes from the stack of the thread it runs on, so a request on a loop gets a connection of
/// that loop and never hands its receives and sends to another thread.
/// </summary>
internal sealed class BackendPool : DestinationPool
{
    /// <summary>Idle connections kept per host; more are closed as they come back.</summary>
    public const int MaxIdle = 512;

    /// <summary>A connection idle this long is closed (HttpClient's default is 60 s; nginx closes at 75 s).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(50);

    private static readonly long IdleTimeoutTicks = (long)(IdleTimeout.TotalSeconds * Stopwatch.Frequency);

    private readonly Lock _gate = new();

    // [0]: connections on .NET's sockets; [loop.Id + 1]: those of a loop. Grown as loops first return one.
    private Stack<BackendConnection>[] _idle = [new()];
    private int _count;
    private bool _closed;

    public int IdleCount
    {
        get
        {
            lock (_gate)
            {
                return _count;
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
        var home = Home(EventLoop.Current);
        while (true)
        {
            BackendConnection? connection;
            lock (_gate)
            {
                if (home >= _idle.Length || !_idle[home].TryPop(out connection))
                {
                    return null;
                }

                _count--;
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
        var home = Home(connection.Loop);
        lock (_gate)
        {
            if (!_closed && _count < MaxIdle)
            {
                if (home >= _idle.Length)
                {
                    var grown = new Stack<BackendConnection>[home + 1];
                    _idle.CopyTo(grown, 0);
                    for (var i = _idle.Length; i < grown.Length; i++)
                    {
                        grown[i] = new();
                    }

                    _idle = grown;
                }

                _idle[home].Push(connection);
                _count++;
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
        lock (_gate)
        {
            foreach (var stack in _idle)
            {
                if (stack.Count == 0)
                {
                    continue;
                }

                var kept = new List<BackendConnection>(stack.Count);
                while (stack.TryPop(out var connection))
                {
                    if (now - connection.IdleSince < IdleTimeoutTicks)
                    {
                        kept.Add(connection);
                    }
                    else
                    {
                        (expired ??= []).Add(connection);
                        _count--;
                    }
                }

                // kept is newest first; push back oldest first so the newest is on top again.
                for (var i = kept.Count - 1; i >= 0; i--)
                {
                    stack.Push(kept[i]);
                }
            }
        }

        expired?.ForEach(c => c.Dispose());
    }

    private static int Home(EventLoop? loop) => loop is null ? 0 : loop.Id + 1;

    /// <summary>The host left: idle connections close now, busy ones when they come back.</summary>
    public override void Close()
    {
        List<BackendConnection> idle = [];
        lock (_gate)
        {
            _closed = true;
            foreach (var stack in _idle)
            {
                idle.AddRange(stack);
                stack.Clear();
            }

            _count = 0;
        }

        foreach (var connection in idle)
        {
            connection.Dispose();
        }
    }
}
