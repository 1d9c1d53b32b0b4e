namespace Router.Loops;

/// <summary>What an <see cref="EventLoop"/> hands a registered socket's events to, on the loop's thread.</summary>
internal interface ILoopTarget
{
    /// <summary>epoll reported <paramref name="events"/> on <paramref name="descriptor"/>.</summary>
    void OnEvent(int descriptor, uint events);

    /// <summary><see cref="OnEvent"/> threw: let go of everything, as after a reset.</summary>
    void Fault();
}
