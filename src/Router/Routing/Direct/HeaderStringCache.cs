using System.Text;

namespace Router.Routing.Direct;

/// <summary>
/// The strings of the header lines a backend sent last, per connection: a backend repeats most of its
/// headers byte for byte (Server, Content-Type, Date within a second), so a repeated line costs no
/// allocation. Names the router knows take their canonical string.
/// </summary>
internal sealed class HeaderStringCache
{
    private static readonly string[] KnownNames =
    [
        "Content-Type", "Date", "Server", "Last-Modified", "ETag", "Cache-Control", "Set-Cookie", "Location", "Vary",
        "Expires", "Accept-Ranges", "Content-Encoding", "Content-Language", "Content-Disposition", "Content-Range",
        "Access-Control-Allow-Origin", "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Age",
        "Pragma", "WWW-Authenticate", "Retry-After", "Link",
    ];

    private readonly Slot[] _slots = new Slot[16];
    private int _next;

    public (string Name, string Value) Get(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        foreach (var slot in _slots)
        {
            if (slot.Line is { } cached && cached.AsSpan().SequenceEqual(line))
            {
                return (slot.Name, slot.Value);
            }
        }

        var nameString = Known(name) ?? Encoding.Latin1.GetString(name);
        var valueString = Encoding.Latin1.GetString(value);
        _slots[_next] = new Slot(line.ToArray(), nameString, valueString);
        _next = (_next + 1) % _slots.Length;
        return (nameString, valueString);
    }

    private static string? Known(ReadOnlySpan<byte> name)
    {
        foreach (var known in KnownNames)
        {
            if (known.Length == name.Length && Ascii.EqualsIgnoreCase(name, known))
            {
                return known;
            }
        }

        return null;
    }

    private readonly record struct Slot(byte[]? Line, string Name, string Value);
}
