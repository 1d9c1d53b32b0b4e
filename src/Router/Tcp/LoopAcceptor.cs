using Router.Registry;

namespace Router.Tcp;

/// <summary>
/// A TCP host_port's listening socket as one <see cref="EventLoop"/> waits on it: every loop has one, and the loop
/// that wakes accepts and keeps the connection. Out of descriptors or buffers, accept fails again at once until
/// something closes, so this loop stops waiting on the listener for a pause (see
/// <see cref="TcpProxyListener.NewAcceptBackoff"/>) instead of spinning.
/// </summary>
internal sealed unsafe class LoopAcceptor(EventLoop loop, int listener, TcpProxyListener owner) : ILoopTarget
{
    // Level-triggered: a loop that stops after a batch is woken again for what is left.
    private const uint Events = Libc.EpollIn | Libc.EpollExclusive;

    // Accepts per wake-up, so that one busy listener leaves the loop's connections their turn.
    private const int Batch = 64;

    private readonly Backoff _backoff = TcpProxyListener.NewAcceptBackoff();
    private bool _stopped;
    private bool _paused;

    /// <summary>Starts waiting on the listener. Loop thread only; false (errno set) when epoll refuses it.</summary>
    public bool Start() => loop.Register(listener, this, Events);

    /// <summary>Stops waiting on the listener for good, so that it can be closed. Loop thread only.</summary>
    public void Stop()
    {
        _stopped = true;
        loop.Unregister(listener);
    }

    public void OnEvent(int descriptor, uint events)
    {
        var address = stackalloc byte[Libc.AddressCapacity];
        for (var i = 0; i < Batch && !_stopped; i++)
        {
            var length = (uint)Libc.AddressCapacity;
            var client = Libc.Accept4(listener, address, &length, Libc.SockNonBlock | Libc.SockCloexec);
            if (client >= 0)
            {
                _backoff.Reset();
                owner.Accepted(loop, client, Libc.ReadAddress(address));
                continue;
            }

            var error = Libc.LastError;
            if (error == Libc.EAgain)
            {
                return;
            }

            // A client that reset before accept, or no descriptor or buffer left: the listener goes on.
            owner.ReportAcceptFailed(Libc.Describe(error));
            if (error is Libc.EMFile or Libc.ENFile or Libc.ENoBufs or Libc.ENoMem)
            {
                _paused = true;
                loop.Unregister(listener);
                loop.After(_backoff.Next(), Resume);
                return;
            }
        }
    }

    public void Fault()
    {
    }

    private void Resume()
    {
        if (_paused && !_stopped)
        {
            _paused = false;
            _ = loop.Register(listener, this, Events);
        }
    }
}
