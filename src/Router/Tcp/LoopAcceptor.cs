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

    /// <summary>Has the loop start waiting on the listener. Any thread.</summary>
    public void Start() => loop.Post(() =>
    {
        if (!loop.Register(listener, this, Events))
        {
            owner.ReportAcceptFailed(Libc.Describe(Libc.LastError));
        }
    });

    /// <summary>
    /// Has the loop stop waiting on the listener for good; the task ends once it has, and only then may the
    /// listener be closed (a loop that still waited could accept on another socket that got its number). Any thread.
    /// </summary>
    public Task StopAsync()
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        loop.Post(() =>
        {
            _stopped = true;
            loop.Unregister(listener);
            stopped.SetResult();
        });
        return stopped.Task;
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
