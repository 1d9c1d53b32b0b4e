namespace Router.Tls;

/// <summary>What the bytes a connection sent first say about its TLS ClientHello.</summary>
internal enum ClientHelloStatus
{
    /// <summary>A well-formed start; more bytes are needed.</summary>
    Incomplete,

    /// <summary>The whole ClientHello is there and parsed (its server name may be absent).</summary>
    Complete,

    /// <summary>Not a TLS handshake, or a malformed one.</summary>
    NotTls,

    /// <summary>Larger than the router is willing to hold before it knows where the connection goes.</summary>
    TooLarge,
}
