using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Router.Dns.Responding;

/// <summary>
/// Linux's recvmmsg and sendmmsg on the DNS socket: up to <see cref="Size"/> queries come in with one system call,
/// and the answers of a batch go out with one more. Under load that is two system calls per batch instead of two
/// per query; with one client at a time a batch is one query and costs what recvfrom and sendto did.
/// The buffers live outside the managed heap, so the kernel can write into them while the thread waits; their
/// pages are touched only as far as datagrams reach.
/// </summary>
internal sealed unsafe partial class UdpBatch : IDisposable
{
    /// <summary>Datagrams read by one recvmmsg at most.</summary>
    public const int Size = 32;

    /// <summary>A datagram of any size fits, as with the one-at-a-time loop: nothing is cut short.</summary>
    private const int BufferSize = ushort.MaxValue;
    private const int AddressSize = 128; // sizeof(struct sockaddr_storage)
    private const int MsgWaitForOne = 0x10000;

    private readonly byte* _block;
    private readonly MMsgHdr* _received;
    private readonly MMsgHdr* _sent;
    private readonly IoVec* _queryVectors;
    private readonly IoVec* _answerVectors;
    private readonly byte* _addresses;
    private readonly byte* _queries;
    private readonly byte* _answers;
    private int _sending;

    public UdpBatch()
    {
        var headers = (nuint)(sizeof(MMsgHdr) * Size);
        var vectors = (nuint)(sizeof(IoVec) * Size);
        var total = (2 * headers) + (2 * vectors) + (nuint)(Size * AddressSize) + (nuint)(2 * Size * BufferSize);
        _block = (byte*)NativeMemory.Alloc(total);
        _received = (MMsgHdr*)_block;
        _sent = (MMsgHdr*)(_block + headers);
        _queryVectors = (IoVec*)(_block + (2 * headers));
        _answerVectors = (IoVec*)(_block + (2 * headers) + vectors);
        _addresses = _block + (2 * headers) + (2 * vectors);
        _queries = _addresses + (Size * AddressSize);
        _answers = _queries + (Size * BufferSize);
        NativeMemory.Clear(_block, (2 * headers) + (2 * vectors));
        for (var i = 0; i < Size; i++)
        {
            _queryVectors[i] = new IoVec { Base = _queries + (i * BufferSize), Length = BufferSize };
            _received[i].Header.Iov = &_queryVectors[i];
            _received[i].Header.IovLength = 1;
            _received[i].Header.Name = _addresses + (i * AddressSize);
        }
    }

    /// <summary>Whether this system has the calls (Linux); elsewhere the responder reads one datagram at a time.</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>
    /// Waits for at least one datagram and takes as many as are queued, up to <see cref="Size"/>. Returns how many,
    /// 0 when the socket was shut down; throws <see cref="SocketException"/> on an error worth reporting.
    /// </summary>
    public int Receive(nint socket)
    {
        for (var i = 0; i < Size; i++)
        {
            _received[i].Header.NameLength = AddressSize;
            _received[i].Header.Flags = 0;
            _received[i].Length = 0;
        }

        _sending = 0;
        while (true)
        {
            var count = RecvMMsg((int)socket, _received, Size, MsgWaitForOne, null);
            if (count >= 0)
            {
                return count;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error != (int)Errno.Interrupted)
            {
                throw new SocketException((int)SocketErrorOf(error));
            }
        }
    }

    /// <summary>Datagram <paramref name="index"/> of the last <see cref="Receive"/>.</summary>
    public ReadOnlySpan<byte> Query(int index) => new(_queries + (index * BufferSize), (int)_received[index].Length);

    /// <summary>Whether datagram <paramref name="index"/> came with a sender address (a shut-down socket's wake-up does not).</summary>
    public bool HasSender(int index) => _received[index].Header.NameLength > 0;

    /// <summary>Copies the sender of datagram <paramref name="index"/> into <paramref name="client"/>.</summary>
    public void Sender(int index, System.Net.SocketAddress client)
    {
        var length = (int)_received[index].Header.NameLength;
        new ReadOnlySpan<byte>(_addresses + (index * AddressSize), length).CopyTo(client.Buffer.Span);
        client.Size = length;
    }

    /// <summary>Where the answer to datagram <paramref name="index"/> is written.</summary>
    public Span<byte> Answer(int index) => new(_answers + (index * BufferSize), BufferSize);

    /// <summary>Queues the answer to datagram <paramref name="index"/> (its first <paramref name="length"/> bytes) for <see cref="Send"/>.</summary>
    public void Reply(int index, int length)
    {
        var slot = _sending++;
        _answerVectors[slot] = new IoVec { Base = _answers + (index * BufferSize), Length = (nuint)length };
        _sent[slot] = default;
        _sent[slot].Header.Name = _received[index].Header.Name;
        _sent[slot].Header.NameLength = _received[index].Header.NameLength;
        _sent[slot].Header.Iov = &_answerVectors[slot];
        _sent[slot].Header.IovLength = 1;
    }

    /// <summary>
    /// Sends every queued answer. An answer the kernel refuses (its client unreachable, say) is skipped and reported
    /// through <paramref name="failed"/>; the others still go.
    /// </summary>
    public void Send(nint socket, Action<SocketException> failed)
    {
        var done = 0;
        while (done < _sending)
        {
            var count = SendMMsg((int)socket, _sent + done, (uint)(_sending - done), 0);
            if (count > 0)
            {
                done += count;
                continue;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error == (int)Errno.Interrupted)
            {
                continue;
            }

            // The first of the rest failed: it is lost, as one sendto's would be.
            failed(new SocketException((int)SocketErrorOf(error)));
            done++;
        }

        _sending = 0;
    }

    public void Dispose() => NativeMemory.Free(_block);

    private static SocketError SocketErrorOf(int errno) => errno switch
    {
        (int)Errno.WouldBlock => SocketError.WouldBlock,
        (int)Errno.ConnectionRefused => SocketError.ConnectionRefused,
        (int)Errno.BadDescriptor or (int)Errno.NotSocket => SocketError.OperationAborted,
        (int)Errno.NotImplemented => SocketError.OperationNotSupported,
        _ => SocketError.SocketError,
    };

    private enum Errno
    {
        Interrupted = 4,
        BadDescriptor = 9,
        WouldBlock = 11,
        NotSocket = 88,
        NotImplemented = 38,
        ConnectionRefused = 111,
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (LP64 layout; socklen_t is 32 bits, the padding after it is the compiler's).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int RecvMMsg(int socket, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMMsg(int socket, MMsgHdr* messages, uint count, int flags);
}
