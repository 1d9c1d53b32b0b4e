using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Router.Loops;

/// <summary>
/// One thread that owns a set of non-blocking sockets: it waits on one epoll, and every accept, connect,
/// receive, send and close of its sockets happens on it. Other threads reach it only through <see cref="Post"/>
/// (an <c>eventfd</c> wakes it), never by touching a socket: the kernel hands a closed descriptor's number to the
/// next socket at once, so a close from another thread could end up closing someone else's connection.
/// </summary>
internal sealed unsafe partial class EventLoop
{
    /// <summary>
    /// A direction's first buffer, held only while bytes are on their way. A direction whose read fills it is
    /// streaming and takes <see cref="LargeBufferSize"/> buffers from then on. In bench/tcp.sh (round 11) 16 KiB
    /// buffers gave the higher connection rate per CPU-second in three pairs of runs out of four, and 64 KiB
    /// buffers about twice the bytes per CPU-second on one stream.
    /// </summary>
    public const int SmallBufferSize = 16 * 1024;

    public const int LargeBufferSize = 64 * 1024;

    // Buffers kept for the next connection: freeing one per connection made the C library move the heap's end
    // (a brk each time) and the kernel fault fresh pages in, which halved the epoll probe's connection rate
    // (round 10). At most 2 MiB per loop stay after a burst.
    private const int MaxFreeSmall = 64;
    private const int MaxFreeLarge = 16;
    private const int EventCapacity = 256;
    private const ulong WakeData = ulong.MaxValue;
    private static readonly TimeSpan DeadlineSweep = TimeSpan.FromMilliseconds(100);

    [ThreadStatic]
    private static EventLoop? t_current;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly ConcurrentQueue<Action> _posted = new();
    private readonly PriorityQueue<Action, long> _timers = new();
    private readonly Stack<nint> _freeSmall = new();
    private readonly Stack<nint> _freeLarge = new();
    private readonly HashSet<IConnectDeadline> _connecting = [];
    private readonly List<IConnectDeadline> _expired = [];
    private readonly ILogger _logger;
    private ILoopTarget?[] _targets = new ILoopTarget?[1024];
    private uint[] _generations = new uint[1024];
    private uint _generation;
    private int _wakeSignalled;
    private bool _sweepArmed;
    private Action? _sweep;

    public EventLoop(int id, ILogger logger)
    {
        Id = id;
        _logger = logger;
        _epoll = Libc.EpollCreate1(Libc.SockCloexec);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: {Libc.Describe(Libc.LastError)}");
        }

        // EFD_NONBLOCK | EFD_CLOEXEC
        _wake = Libc.EventFd(0, Libc.SockNonBlock | Libc.SockCloexec);
        var registration = new Libc.EpollEvent { Events = Libc.EpollIn, Data = WakeData };
        if (_wake < 0 || Libc.EpollCtl(_epoll, Libc.EpollCtlAdd, _wake, &registration) < 0)
        {
            throw new IOException($"eventfd failed: {Libc.Describe(Libc.LastError)}");
        }

        new Thread(Run) { IsBackground = true, Name = $"event loop {id}" }.Start();
    }

    /// <summary>The loop's number among the process's loops, from 0.</summary>
    public int Id { get; }

    /// <summary>The loop whose thread this is; null on any other thread.</summary>
    public static EventLoop? Current => t_current;

    /// <summary>Whether the calling thread is this loop's.</summary>
    public bool IsCurrent => ReferenceEquals(t_current, this);

    /// <summary>
    /// <c>await loop.SwitchTo()</c>: what follows runs on the loop's thread (at once when already there, else posted to
    /// it). A connection's handler starts on the thread pool (Kestrel dispatches it there); it moves to its loop so that
    /// its receives, its backend connections (<see cref="LoopSocket"/>) and its sends all stay on one thread.
    /// </summary>
    public LoopAwaitable SwitchTo() => new(this);

    /// <summary>Runs <paramref name="action"/> on the loop, after the events it is handling now. Any thread.</summary>
    public void Post(Action action)
    {
        _posted.Enqueue(action);
        if (Interlocked.Exchange(ref _wakeSignalled, 1) == 0)
        {
            ulong one = 1;
            _ = Libc.Write(_wake, &one, sizeof(ulong));
        }
    }

    /// <summary>Runs <paramref name="action"/> on the loop once <paramref name="delay"/> is over. Loop thread only.</summary>
    public void After(TimeSpan delay, Action action) =>
        _timers.Enqueue(action, Environment.TickCount64 + (long)Math.Ceiling(delay.TotalMilliseconds));

    /// <summary>
    /// Has <see cref="IConnectDeadline.CheckDeadline"/> called soon after <paramref name="relay"/>'s connect deadline, until
    /// <see cref="ForgetDeadline"/>. One sweep every <see cref="DeadlineSweep"/> while connects are under way costs
    /// less than a timer per connect, which would also keep each relay alive until its deadline. Loop thread only.
    /// </summary>
    public void WatchDeadline(IConnectDeadline relay)
    {
        _connecting.Add(relay);
        if (!_sweepArmed)
        {
            _sweepArmed = true;
            After(DeadlineSweep, _sweep ??= SweepDeadlines);
        }
    }

    public void ForgetDeadline(IConnectDeadline relay) => _connecting.Remove(relay);

    /// <summary>
    /// Hands <paramref name="descriptor"/>'s events to <paramref name="target"/>; false (errno set) when epoll refuses
    /// it. Loop thread only.
    /// </summary>
    public bool Register(int descriptor, ILoopTarget target, uint events)
    {
        if (descriptor >= _targets.Length)
        {
            var size = _targets.Length;
            while (size <= descriptor)
            {
                size *= 2;
            }

            Array.Resize(ref _targets, size);
            Array.Resize(ref _generations, size);
        }

        // The generation travels with each event: an event queued for a closed descriptor is not handed to the
        // socket that got its number since, even within one batch.
        var generation = ++_generation;
        _targets[descriptor] = target;
        _generations[descriptor] = generation;
        var registration = new Libc.EpollEvent { Events = events, Data = ((ulong)generation << 32) | (uint)descriptor };
        if (Libc.EpollCtl(_epoll, Libc.EpollCtlAdd, descriptor, &registration) == 0)
        {
            return true;
        }

        _targets[descriptor] = null;
        return false;
    }

    /// <summary>Stops handing <paramref name="descriptor"/>'s events to anyone, without closing it. Loop thread only.</summary>
    public void Unregister(int descriptor)
    {
        if (descriptor < _targets.Length)
        {
            _targets[descriptor] = null;
        }

        _ = Libc.EpollCtl(_epoll, Libc.EpollCtlDel, descriptor, null);
    }

    /// <summary>Closes a socket of this loop (which also takes it out of the epoll). Loop thread only.</summary>
    public void Close(int descriptor)
    {
        if (descriptor < _targets.Length)
        {
            _targets[descriptor] = null;
        }

        _ = Libc.Close(descriptor);
    }

    /// <summary>A buffer of <see cref="LargeBufferSize"/> or <see cref="SmallBufferSize"/>, from the ones kept when there is one. Loop thread only.</summary>
    public byte* RentBuffer(bool large)
    {
        var free = large ? _freeLarge : _freeSmall;
        return free.TryPop(out var buffer) ? (byte*)buffer : (byte*)NativeMemory.Alloc((nuint)(large ? LargeBufferSize : SmallBufferSize));
    }

    public void ReturnBuffer(byte* buffer, bool large)
    {
        var free = large ? _freeLarge : _freeSmall;
        if (free.Count < (large ? MaxFreeLarge : MaxFreeSmall))
        {
            free.Push((nint)buffer);
        }
        else
        {
            NativeMemory.Free(buffer);
        }
    }

    private void Run()
    {
        t_current = this;
        var events = stackalloc Libc.EpollEvent[EventCapacity];
        while (true)
        {
            var count = Libc.EpollWait(_epoll, events, EventCapacity, NextTimeout());
            if (count < 0)
            {
                var error = Libc.LastError;
                if (error != Libc.EIntr)
                {
                    // Cannot happen with a valid epoll and buffer; a loop that spun on it would take a core.
                    Log.WaitFailed(_logger, Libc.Describe(error));
                    Thread.Sleep(100);
                }

                continue;
            }

            for (var i = 0; i < count; i++)
            {
                var data = events[i].Data;
                if (data == WakeData)
                {
                    ulong ignored;
                    _ = Libc.Read(_wake, &ignored, sizeof(ulong));
                    Volatile.Write(ref _wakeSignalled, 0);
                    continue;
                }

                var descriptor = (int)(uint)data;
                if (descriptor < _targets.Length && _generations[descriptor] == (uint)(data >> 32) && _targets[descriptor] is { } target)
                {
                    Guard(target, descriptor, events[i].Events);
                }
            }

            while (_posted.TryDequeue(out var action))
            {
                Guard(action);
            }

            RunDueTimers();
        }
    }

    private void SweepDeadlines()
    {
        var now = Environment.TickCount64;
        foreach (var relay in _connecting)
        {
            if (now >= relay.Deadline)
            {
                _expired.Add(relay);
            }
        }

        // Outside the enumeration: a timed-out relay goes on to its next host, which watches it again.
        foreach (var relay in _expired)
        {
            relay.CheckDeadline(now);
        }

        _expired.Clear();
        _sweepArmed = _connecting.Count > 0;
        if (_sweepArmed)
        {
            After(DeadlineSweep, _sweep!);
        }
    }

    private int NextTimeout()
    {
        if (!_posted.IsEmpty)
        {
            return 0;
        }

        if (!_timers.TryPeek(out _, out var due))
        {
            return -1;
        }

        return (int)Math.Clamp(due - Environment.TickCount64, 0, int.MaxValue);
    }

    private void RunDueTimers()
    {
        var now = Environment.TickCount64;
        while (_timers.TryPeek(out _, out var due) && due <= now)
        {
            Guard(_timers.Dequeue());
        }
    }

    // A bug in one connection's handling must not end the loop, which serves every other connection on it.
    private void Guard(ILoopTarget target, int descriptor, uint events)
    {
        try
        {
            target.OnEvent(descriptor, events);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.HandlerFailed(_logger, e);
            target.Fault();
        }
    }

    private void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Log.HandlerFailed(_logger, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.TcpLoopWaitFailed, LogLevel.Error, "Event loop: epoll_wait failed ({Reason})")]
        public static partial void WaitFailed(ILogger logger, string reason);

        [LoggerMessage(EventIds.TcpLoopHandlerFailed, LogLevel.Error, "Event loop: a connection's handler failed; it is closed")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);
    }
}

/// <summary>The awaitable of <see cref="EventLoop.SwitchTo"/>.</summary>
internal readonly struct LoopAwaitable(EventLoop loop) : ICriticalNotifyCompletion
{
    public bool IsCompleted => loop.IsCurrent;

    public LoopAwaitable GetAwaiter() => this;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => loop.Post(continuation);

    public void UnsafeOnCompleted(Action continuation) => loop.Post(continuation);
}
