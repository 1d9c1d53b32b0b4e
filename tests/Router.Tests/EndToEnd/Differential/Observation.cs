using System.Text;
using Router.Testing;

namespace Router.Tests.Differential;

/// <summary>The parts of one exchange that the differential suite compares between peers.</summary>
public enum Aspect
{
    /// <summary>How many requests reached the backend (0: the peer answered itself).</summary>
    BackendCount,

    /// <summary>The request line the backend got.</summary>
    BackendRequestLine,

    /// <summary>The backend's request headers (normalised, see <see cref="Observation"/>).</summary>
    BackendHeaders,

    /// <summary>The request body the backend got (decoded from its framing).</summary>
    BackendBody,

    /// <summary>The client's final status line, or that the connection closed without one.</summary>
    ClientStatus,

    /// <summary>Interim (1xx) responses the client got before the final one.</summary>
    ClientInterim,

    /// <summary>The client's response headers (normalised).</summary>
    ClientHeaders,

    /// <summary>The client's response body (decoded from its framing).</summary>
    ClientBody,
}

/// <summary>
/// What one peer did with one case: what the backend received and what the client got, normalised so that
/// only meaning is compared. Header names are compared in lower case (HAProxy lowercases them) and as a
/// list sorted by name (Kestrel writes known headers first; same-name lines keep their order). Left out:
/// framing (Transfer-Encoding: the decoded body is compared instead), each hop's own Connection, the
/// X-Forwarded-* the router adds and HAProxy does not (docs/routing.md), Date, and the case's own marker.
/// An answer the peer made itself (no <c>X-Backend</c> marker) is compared by status code only: each
/// proxy words its own errors.
/// </summary>
public sealed record Observation(
    int BackendCount,
    string BackendRequestLine,
    IReadOnlyList<string> BackendHeaders,
    string BackendBody,
    string ClientStatus,
    IReadOnlyList<string> ClientInterim,
    IReadOnlyList<string> ClientHeaders,
    string ClientBody)
{
    public const string CaseHeader = "X-Case";
    public const string BackendMarker = "X-Backend";

    private static readonly string[] BackendLeftOut = ["transfer-encoding", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-case"];
    private static readonly string[] ClientLeftOut = ["transfer-encoding", "connection", "date", "x-backend"];

    /// <summary>The raw requests the backend got for this exchange (the router's retries would show as more than one).</summary>
    public IReadOnlyList<RawHttpMessage> RawBackend { get; init; } = [];

    /// <summary>The final response as the client got it, or null when the connection closed first.</summary>
    public RawHttpMessage? RawClient { get; init; }

    public static Observation From(IReadOnlyList<RawHttpMessage> backend, IReadOnlyList<RawHttpMessage> interim, RawHttpMessage? final)
    {
        var first = backend.Count > 0 ? backend[0] : null;
        var own = final is not null && !final.Has(BackendMarker);
        return new Observation(
            backend.Count,
            first?.StartLine ?? "",
            first is null ? [] : Normalise(first.Headers, BackendLeftOut),
            first is null ? "" : Encoding.Latin1.GetString(first.Body),
            final is null ? "closed" : own ? $"{final.Status} (the peer's own answer)" : StatusLine(final),
            [.. interim.Select(i => i.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            final is null || own ? [] : Normalise(final.Headers, ClientLeftOut),
            final is null || own ? "" : Encoding.Latin1.GetString(final.Body))
        {
            RawBackend = backend,
            RawClient = final,
        };
    }

    /// <summary>The aspects in which this observation differs from <paramref name="other"/>.</summary>
    public IReadOnlyList<Aspect> DiffersFrom(Observation other)
    {
        var aspects = new List<Aspect>();
        Add(BackendCount != other.BackendCount, Aspect.BackendCount);
        Add(BackendRequestLine != other.BackendRequestLine, Aspect.BackendRequestLine);
        Add(!BackendHeaders.SequenceEqual(other.BackendHeaders), Aspect.BackendHeaders);
        Add(BackendBody != other.BackendBody, Aspect.BackendBody);
        Add(ClientStatus != other.ClientStatus, Aspect.ClientStatus);
        Add(!ClientInterim.SequenceEqual(other.ClientInterim), Aspect.ClientInterim);
        Add(!ClientHeaders.SequenceEqual(other.ClientHeaders), Aspect.ClientHeaders);
        Add(ClientBody != other.ClientBody, Aspect.ClientBody);
        return aspects;

        void Add(bool differs, Aspect aspect)
        {
            if (differs)
            {
                aspects.Add(aspect);
            }
        }
    }

    public override string ToString() =>
        $"""
          backend got {BackendCount}: {BackendRequestLine}
            {string.Join("\n    ", BackendHeaders)}
            body [{BackendBody}]
          client got: {ClientStatus} (interim: {string.Join(",", ClientInterim)})
            {string.Join("\n    ", ClientHeaders)}
            body [{(ClientBody.Length > 200 ? ClientBody[..200] + "…" : ClientBody)}]
        """;

    private static string StatusLine(RawHttpMessage response) => response.StartLine.Split(' ', 2)[1];

    private static List<string> Normalise(IReadOnlyList<KeyValuePair<string, string>> headers, string[] leftOut) =>
        [.. headers
            .Select(h => (Name: h.Key.ToLowerInvariant(), h.Value))
            .Where(h => !leftOut.Contains(h.Name))
            .OrderBy(h => h.Name, StringComparer.Ordinal)
            .Select(h => $"{h.Name}: {h.Value}")];
}
