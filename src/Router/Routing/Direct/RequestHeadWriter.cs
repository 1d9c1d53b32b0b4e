using System.Net;
using System.Text;

namespace Router.Routing.Direct;

/// <summary>Builds an HTTP/1.1 message head as bytes in a buffer that is reused from request to request and grows as needed.</summary>
internal sealed class RequestHeadWriter(int capacity = 4096)
{
    private byte[] _buffer = new byte[capacity];
    private int _length;

    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    public void Reset() => _length = 0;

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
        if (_length + more > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
        }
    }
}
