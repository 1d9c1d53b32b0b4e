using System.Buffers.Binary;

namespace Router.Dns.Wire;

/// <summary>
/// Appends message parts to a span. Every method returns false when the part does not fit, and then leaves
/// <see cref="Position"/> where it was, so a caller can stop at a record boundary.
/// </summary>
internal ref struct DnsMessageWriter
{
    /// <summary>RFC 1035 §4.1.4: a pointer is the offset with the two top bits set.</summary>
    private const ushort PointerMask = 0xC000;

    private readonly Span<byte> _buffer;

    public DnsMessageWriter(Span<byte> buffer, int position = 0)
    {
        _buffer = buffer;
        Position = position;
    }

    public int Position { get; private set; }

    public readonly Span<byte> Buffer => _buffer;

    public bool TryWriteBytes(scoped ReadOnlySpan<byte> bytes)
    {
        if (!bytes.TryCopyTo(_buffer[Position..]))
        {
            return false;
        }

        Position += bytes.Length;
        return true;
    }

    public bool TryWriteUInt16(ushort value)
    {
        if (!BinaryPrimitives.TryWriteUInt16BigEndian(_buffer[Position..], value))
        {
            return false;
        }

        Position += 2;
        return true;
    }

    public bool TryWriteUInt32(uint value)
    {
        if (!BinaryPrimitives.TryWriteUInt32BigEndian(_buffer[Position..], value))
        {
            return false;
        }

        Position += 4;
        return true;
    }

    /// <summary>Writes a compression pointer to an earlier name.</summary>
    public bool TryWritePointer(int offset) => offset < 0x4000 && TryWriteUInt16((ushort)(PointerMask | offset));

    /// <summary>A name made of one label followed by a pointer to an earlier name (e.g. <c>ns</c> + the zone).</summary>
    public bool TryWriteLabelAndPointer(scoped ReadOnlySpan<byte> label, int pointer)
    {
        var start = Position;
        if (label.Length is 0 or > DnsName.MaxLabelLength
            || Position + 1 + label.Length > _buffer.Length)
        {
            return false;
        }

        _buffer[Position++] = (byte)label.Length;
        label.CopyTo(_buffer[Position..]);
        Position += label.Length;
        if (!TryWritePointer(pointer))
        {
            Position = start;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Writes TYPE, CLASS, TTL and a placeholder RDLENGTH after an owner name written before; returns where
    /// the RDLENGTH is so <see cref="EndRecord"/> can fill it in.
    /// </summary>
    public bool TryBeginRecord(ushort type, ushort @class, uint ttl, out int dataLengthOffset)
    {
        dataLengthOffset = Position + 8;
        if (Position + 10 > _buffer.Length)
        {
            return false;
        }

        var fixedPart = _buffer[Position..];
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart, type);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart[2..], @class);
        BinaryPrimitives.WriteUInt32BigEndian(fixedPart[4..], ttl);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart[8..], 0);
        Position += 10;
        return true;
    }

    public readonly void EndRecord(int dataLengthOffset) =>
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[dataLengthOffset..], (ushort)(Position - dataLengthOffset - 2));

    /// <summary>Moves back to a record boundary (when a record did not fit).</summary>
    public void Rewind(int position) => Position = position;
}
