using System.Buffers;
using System.Buffers.Binary;
using Yarp.ReverseProxy.Utilities.Tls;

namespace Router.Tls;

/// <summary>
/// Reads the server name (SNI) of a TLS ClientHello from the first bytes of a connection without consuming
/// them. The handshake message may span several records (RFC 8446 §5.1); their fragments are joined and the
/// whole message is parsed by YARP's <see cref="TlsFrameHelper"/>. Bounded: a ClientHello larger than
/// <see cref="MaxHelloBytes"/> or spread over more than <see cref="MaxRecords"/> records is refused.
/// </summary>
internal static class ClientHelloReader
{
    /// <summary>
    /// Largest ClientHello accepted. One record holds 16 KiB; real ClientHellos are far below it (about 1.8 KiB
    /// with a post-quantum key share), so anything bigger is not worth holding for a connection nobody knows yet.
    /// </summary>
    public const int MaxHelloBytes = 16 * 1024;

    /// <summary>Records a ClientHello may be split over: clients fragment a large one into few records, not many.</summary>
    public const int MaxRecords = 4;

    private const int RecordHeaderSize = 5;
    private const byte HandshakeRecord = 22;
    private const byte ClientHelloType = 1;
    private const int MaxRecordPayload = 16 * 1024;

    /// <summary>Reads the ClientHello at the start of <paramref name="buffer"/>; <paramref name="serverName"/> is set only for <see cref="ClientHelloStatus.Complete"/> (null without SNI).</summary>
    public static ClientHelloStatus TryRead(ReadOnlySequence<byte> buffer, out string? serverName)
    {
        serverName = null;
        var reader = new SequenceReader<byte>(buffer);
        Span<byte> header = stackalloc byte[RecordHeaderSize];
        byte[]? message = null;
        var have = 0;
        var needed = -1;
        try
        {
            for (var record = 0; record < MaxRecords; record++)
            {
                if (!reader.TryCopyTo(header))
                {
                    return Incomplete(header[..(int)Math.Min(reader.Remaining, RecordHeaderSize)], reader);
                }

                // RFC 8446 §5.1: a handshake record, legacy version 3.x, 1 to 2^14 bytes.
                var length = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
                if (header[0] != HandshakeRecord || header[1] != 3 || length is 0 or > MaxRecordPayload)
                {
                    return ClientHelloStatus.NotTls;
                }

                reader.Advance(RecordHeaderSize);
                if (reader.Remaining < length)
                {
                    return buffer.Length > MaxHelloBytes + (MaxRecords * RecordHeaderSize) ? ClientHelloStatus.TooLarge : ClientHelloStatus.Incomplete;
                }

                message ??= ArrayPool<byte>.Shared.Rent(RecordHeaderSize + MaxHelloBytes);
                var room = MaxHelloBytes - have;
                var take = Math.Min(length, room);
                reader.UnreadSequence.Slice(0, take).CopyTo(message.AsSpan(RecordHeaderSize + have));
                have += take;
                reader.Advance(length);

                if (needed < 0 && have >= 4)
                {
                    // RFC 8446 §4: msg_type (1 byte), length (3 bytes).
                    if (message[RecordHeaderSize] != ClientHelloType)
                    {
                        return ClientHelloStatus.NotTls;
                    }

                    needed = 4 + ((message[RecordHeaderSize + 1] << 16) | (message[RecordHeaderSize + 2] << 8) | message[RecordHeaderSize + 3]);
                    if (needed > MaxHelloBytes)
                    {
                        return ClientHelloStatus.TooLarge;
                    }
                }

                if (needed >= 0 && have >= needed)
                {
                    return Parse(message.AsSpan(0, RecordHeaderSize + needed), header, out serverName);
                }

                if (take < length)
                {
                    return ClientHelloStatus.TooLarge;
                }
            }

            return ClientHelloStatus.TooLarge;
        }
        finally
        {
            if (message is not null)
            {
                ArrayPool<byte>.Shared.Return(message);
            }
        }
    }

    /// <summary>A partial record header is judged by the bytes it has, so garbage is refused at its first byte.</summary>
    private static ClientHelloStatus Incomplete(Span<byte> partial, SequenceReader<byte> reader)
    {
        reader.TryCopyTo(partial);
        if ((partial.Length >= 1 && partial[0] != HandshakeRecord) || (partial.Length >= 2 && partial[1] != 3))
        {
            return ClientHelloStatus.NotTls;
        }

        return ClientHelloStatus.Incomplete;
    }

    /// <summary>The joined message behind one synthetic record header, the form <see cref="TlsFrameHelper"/> reads.</summary>
    private static ClientHelloStatus Parse(Span<byte> frame, ReadOnlySpan<byte> firstHeader, out string? serverName)
    {
        serverName = null;
        frame[0] = HandshakeRecord;
        frame[1] = firstHeader[1];
        frame[2] = firstHeader[2];
        BinaryPrimitives.WriteUInt16BigEndian(frame[3..], (ushort)(frame.Length - RecordHeaderSize));
        var info = default(TlsFrameHelper.TlsFrameInfo);
        if (!TlsFrameHelper.TryGetFrameInfo(frame, ref info, TlsFrameHelper.ProcessingOptions.ServerName)
            || info.HandshakeType != TlsHandshakeType.ClientHello)
        {
            return ClientHelloStatus.NotTls;
        }

        serverName = string.IsNullOrEmpty(info.TargetName) ? null : info.TargetName;
        return ClientHelloStatus.Complete;
    }
}
