using System.Net;
using System.Net.Sockets;
using Router.Registry;

namespace Router.Loops;

/// <summary>
/// A listening socket as one <see cref="EventLoop"/> waits on it (a TCP host_port, or the HTTP port on
/// <see cref="LoopTransport"/>): every loop has one, and the loop that wakes accepts and keeps the connection. Out of
/// descriptors or buffers, accept fails again at once until something closes, so this loop stops waiting on the
/// listener for a pause (see <see cref="NewBackoff"/>) instead of spinning.
/// </summary>
internal sealed unsafe class LoopAcceptor(EventLoop loop, int listener, IAcceptOwner owner) : ILoopTarget
{
    // Level-triggered: a loop that stops after a batch is woken again for what is left.
    private const uint Events = Libc.EpollIn | Libc.EpollExclusive;

    // Accepts per wake-up, so that one busy listener leaves the loop's connections their turn.
    private const int Batch = 64;

    private readonly Backoff _backoff = NewBackoff();
    private bool _stopped;
    private bool _paused;

    /// <summary>
    /// A bound, listening TCP socket for <paramref name="endPoint"/> (dual-mode when it is <c>[::]</c>), as every listener
    /// of the router opens it; it throws <see cref="SocketException"/> when the port cannot be bound.
    /// </summary>
    public static Socket Listen(IPEndPoint endPoint, int backlog = 512)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Lets a listener come back on a port whose old connections linger in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endPoint);
            socket.Listen(backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The pause after accept failed: 5 ms, doubling up to 1 s while it keeps failing.</summary>
    public static Backoff NewBackoff() => new(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1));

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
                owner.Accepted(loop, client, (nint)address);
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

/// <summary>What a <see cref="LoopAcceptor"/> reports to: the listener it accepts for.</summary>
internal interface IAcceptOwner
{
    /// <summary>
    /// <paramref name="client"/> was accepted on <paramref name="loop"/> (loop thread): it is the owner's now, and
    /// <paramref name="address"/> points to its sockaddr, valid during the call.
    /// </summary>
    void Accepted(EventLoop loop, int client, nint address);

    /// <summary>accept failed with <paramref name="reason"/>; the listener goes on.</summary>
    void ReportAcceptFailed(string reason);
}
