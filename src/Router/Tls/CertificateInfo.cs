namespace Router.Tls;

/// <summary>One certificate served on the HTTPS port, for <c>/status</c>: its file, the names it serves, when it expires.</summary>
/// <param name="Stale">True when the file could not be read at the last change and this is the certificate loaded from it before.</param>
internal sealed record CertificateInfo(string File, IReadOnlyList<string> Names, DateTimeOffset NotAfter, bool Stale);
