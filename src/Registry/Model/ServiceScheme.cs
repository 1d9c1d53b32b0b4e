namespace Router.Registry.Model;

/// <summary>How a service is spoken to; the value of <c>{prefix}/{name}/scheme</c>.</summary>
public enum ServiceScheme
{
    Http,
    Https,
    HttpAndHttps,
    Tcp,
}
