using System.Text;

namespace Router.Dns.Wire;

/// <summary>Domain names in wire form: length-prefixed labels ending with the root label (RFC 1035 §3.1, §4.1.4).</summary>
internal static class DnsName
{
    /// <summary>RFC 1035 §2.3.4: 255 octets for the whole name in wire form.</summary>
    public const int MaxLength = 255;

    public const int MaxLabelLength = 63;

    /// <summary>How many compression pointers one name may follow before it is called a loop.</summary>
    private const int MaxPointers = 64;

    /// <summary>Finds where the name at <paramref name="offset"/> ends, without following pointers.</summary>
    public static bool TrySkip(ReadOnlySpan<byte> message, int offset, out int end)
    {
        end = 0;
        var position = offset;
        while (true)
        {
            if ((uint)position >= (uint)message.Length)
            {
                return false;
            }

            var length = message[position];
            if (length == 0)
            {
                end = position + 1;
                return position + 1 - offset <= MaxLength;
            }

            // RFC 1035 §4.1.4: the top two bits 11 mark a pointer, which ends the name.
            if ((length & 0xC0) == 0xC0)
            {
                if (position + 2 > message.Length)
                {
                    return false;
                }

                end = position + 2;
                return true;
            }

            // 01 and 10 are reserved (RFC 6891 §5 retired the extended label types).
            if ((length & 0xC0) != 0)
            {
                return false;
            }

            position += 1 + length;
            if (position - offset > MaxLength)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Reads a name that must not use compression (the question of a query): its length including the root
    /// label is returned in <paramref name="length"/>.
    /// </summary>
    public static bool TryReadUncompressed(ReadOnlySpan<byte> message, int offset, out int length)
    {
        length = 0;
        var position = offset;
        while (true)
        {
            if ((uint)position >= (uint)message.Length)
            {
                return false;
            }

            var label = message[position];
            if (label == 0)
            {
                length = position + 1 - offset;
                return length <= MaxLength;
            }

            if (label > MaxLabelLength)
            {
                return false;
            }

            position += 1 + label;
            if (position - offset >= MaxLength)
            {
                return false;
            }
        }
    }

    /// <summary>Reads a possibly compressed name as dotted text (no trailing dot; the root is "").</summary>
    public static bool TryRead(ReadOnlySpan<byte> message, int offset, out string name, out int end)
    {
        name = "";
        end = 0;
        var text = new StringBuilder();
        var position = offset;
        var pointers = 0;
        var total = 0;
        while (true)
        {
            if ((uint)position >= (uint)message.Length)
            {
                return false;
            }

            var length = message[position];
            if (length == 0)
            {
                if (pointers == 0)
                {
                    end = position + 1;
                }

                name = text.ToString();
                return true;
            }

            if ((length & 0xC0) == 0xC0)
            {
                if (position + 2 > message.Length || ++pointers > MaxPointers)
                {
                    return false;
                }

                if (pointers == 1)
                {
                    end = position + 2;
                }

                position = ((length & 0x3F) << 8) | message[position + 1];
                continue;
            }

            if ((length & 0xC0) != 0 || position + 1 + length > message.Length)
            {
                return false;
            }

            total += 1 + length;
            if (total >= MaxLength)
            {
                return false;
            }

            if (text.Length > 0)
            {
                text.Append('.');
            }

            text.Append(Encoding.ASCII.GetString(message.Slice(position + 1, length)));
            position += 1 + length;
        }
    }

    /// <summary>Writes dotted text (trailing dot optional) as an uncompressed wire name.</summary>
    public static bool TryWrite(string name, Span<byte> destination, out int written)
    {
        written = 0;
        var trimmed = name.EndsWith('.') ? name[..^1] : name;
        var position = 0;
        if (trimmed.Length > 0)
        {
            foreach (var label in trimmed.Split('.'))
            {
                if (label.Length is 0 or > MaxLabelLength || !Ascii.IsValid(label) || position + 1 + label.Length >= destination.Length)
                {
                    return false;
                }

                destination[position++] = (byte)label.Length;
                position += Encoding.ASCII.GetBytes(label, destination[position..]);
            }
        }

        if (position + 1 > MaxLength || position >= destination.Length)
        {
            return false;
        }

        destination[position++] = 0;
        written = position;
        return true;
    }

    /// <summary>The wire form of <paramref name="name"/>, lower-cased; throws on a name that is not valid.</summary>
    public static byte[] ToWire(string name)
    {
        Span<byte> buffer = stackalloc byte[MaxLength + 1];
        if (!TryWrite(name.ToLowerInvariant(), buffer, out var written))
        {
            throw new ArgumentException($"'{name}' is not a valid domain name", nameof(name));
        }

        return buffer[..written].ToArray();
    }

    /// <summary>
    /// True when the uncompressed <paramref name="name"/> is <paramref name="suffix"/> or lies under it (compared
    /// without regard to ASCII case, RFC 4343); <paramref name="prefixLength"/> is where the suffix starts.
    /// </summary>
    public static bool IsAtOrBelow(ReadOnlySpan<byte> name, ReadOnlySpan<byte> suffix, out int prefixLength)
    {
        prefixLength = 0;
        var position = 0;
        while (position < name.Length)
        {
            var remaining = name.Length - position;
            if (remaining == suffix.Length)
            {
                prefixLength = position;
                return Ascii.EqualsIgnoreCase(name[position..], suffix);
            }

            if (remaining < suffix.Length)
            {
                return false;
            }

            position += 1 + name[position];
        }

        return false;
    }

    /// <summary>Copies an uncompressed name lower-cased (for cache keys); length bytes are below 64 and stay as they are.</summary>
    public static void ToLower(ReadOnlySpan<byte> name, Span<byte> destination)
    {
        for (var i = 0; i < name.Length; i++)
        {
            var b = name[i];
            destination[i] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
        }
    }
}
