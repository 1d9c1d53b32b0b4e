namespace Router.Registry.Model;

/// <summary>How a service is spoken to; the value of <c>{prefix}/{name}/scheme</c>.</summary>
public enum ServiceScheme
{
    Http,
    Https,
    HttpAndHttps,
    Tcp,

    /// <summary>Raw TLS, relayed untouched to the hosts by the ClientHello's server name on the HTTPS port.</summary>
    Tls,
}
