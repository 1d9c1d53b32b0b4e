using System.Text;

namespace Router.Testing;

/// <summary>
/// An HTTP/1.1 message as it came off the wire. Header names and values are as sent (values without the
/// surrounding whitespace), in order, repeated lines kept apart. <see cref="Complete"/> is false when the
/// connection ended before the framing said the message was over.
/// </summary>
public sealed record RawHttpMessage(
    string StartLine,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body,
    IReadOnlyList<KeyValuePair<string, string>> Trailers,
    bool Chunked,
    bool Complete)
{
    /// <summary>A request's method.</summary>
    public string Method => StartLine.Split(' ', 3)[0];

    /// <summary>A request's target exactly as sent (path and query, still escaped).</summary>
    public string Target => StartLine.Split(' ', 3)[1];

    /// <summary>A response's status code.</summary>
    public int Status => int.Parse(StartLine.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);

    public string BodyText => Encoding.Latin1.GetString(Body);

    /// <summary>The values of every line named <paramref name="name"/>, in order.</summary>
    public IReadOnlyList<string> Values(string name) =>
        [.. Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value)];

    /// <summary>
    /// The list elements of every line named <paramref name="name"/> (RFC 9110 §5.3: several lines and one
    /// comma-joined line mean the same), trimmed, in order.
    /// </summary>
    public IReadOnlyList<string> Elements(string name) =>
        [.. Values(name).SelectMany(v => v.Split(',')).Select(v => v.Trim()).Where(v => v.Length > 0)];

    public bool Has(string name) => Values(name).Count > 0;

    /// <summary>The value of the one line named <paramref name="name"/>; null when there is none.</summary>
    public string? Header(string name) => Values(name) switch
    {
        [] => null,
        [var one] => one,
        var many => throw new InvalidOperationException($"{many.Count} {name} lines"),
    };
}
