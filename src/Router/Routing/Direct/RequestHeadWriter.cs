using System.Buffers;
using System.Net;
using System.Text;

namespace Router.Routing.Direct;

/// <summary>Builds an HTTP/1.1 message head as bytes in a buffer that is reused from request to request and grows as needed.</summary>
internal sealed class RequestHeadWriter
{
    private const int PooledCapacity = 512;

    private readonly bool _pooled;
    private byte[] _buffer;
    private int _length;

    public RequestHeadWriter(int capacity = 4096) => _buffer = new byte[capacity];

    private RequestHeadWriter(bool pooled)
    {
        _pooled = pooled;
        _buffer = [];
    }

    /// <summary>A writer that takes its buffer from the shared pool at its first append and gives it back at <see cref="Release"/>.</summary>
    public static RequestHeadWriter Pooled() => new(pooled: true);

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    public void Reset() => _length = 0;

    /// <summary>Empties the writer and gives a pooled buffer back; nothing <see cref="Written"/> returned may be read after.</summary>
    public void Release()
    {
        _length = 0;
        if (_pooled && _buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>Appends text as Latin-1, which is what HTTP/1.1 header bytes are (RFC 9110 section 5.5).</summary>
    public void Append(ReadOnlySpan<char> text)
    {
        Ensure(text.Length);
        _length += Encoding.Latin1.GetBytes(text, _buffer.AsSpan(_length));
    }

    public void AppendHeader(string name, ReadOnlySpan<char> value)
    {
        Append(name);
        Append(": "u8);
        Append(value);
        Append("\r\n"u8);
    }

    public void Append(IPAddress address)
    {
        Ensure(64);
        address.TryFormat(_buffer.AsSpan(_length), out var written);
        _length += written;
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length)
        {
            return;
        }

        var size = Math.Max(Math.Max(_buffer.Length * 2, _length + more), _pooled ? PooledCapacity : 0);
        if (!_pooled)
        {
            Array.Resize(ref _buffer, size);
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = bigger;
    }
}
