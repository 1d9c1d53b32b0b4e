using System.Net;

namespace Router.Tls;

/// <summary>The HTTPS port's settings: where it listens, its certificates, and the TLS passthrough's timeouts.</summary>
internal sealed record TlsOptions
{
    /// <summary><c>--https</c>; null: no HTTPS port.</summary>
    public IPEndPoint? Https { get; init; }

    /// <summary><c>--certs</c>.</summary>
    public string? CertsDirectory { get; init; }

    /// <summary>Longest a client may take to send its ClientHello (the request-head timeout).</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A passthrough relay with no bytes either way for this long is closed (the TCP idle timeout).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(1);
}
