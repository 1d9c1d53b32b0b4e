namespace Router.Loops;

/// <summary>A connect under way on an <see cref="EventLoop"/>, given up at its deadline (<see cref="EventLoop.WatchDeadline"/>).</summary>
internal interface IConnectDeadline
{
    /// <summary>When the connect is given up (<see cref="Environment.TickCount64"/>).</summary>
    long Deadline { get; }

    /// <summary>The sweep found the deadline passed at <paramref name="now"/>: give up the connect. Loop thread.</summary>
    void CheckDeadline(long now);
}
