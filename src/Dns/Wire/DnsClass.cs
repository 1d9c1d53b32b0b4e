namespace Router.Dns.Wire;

/// <summary>RFC 1035 §3.2.4.</summary>
internal static class DnsClass
{
    public const ushort In = 1;
    public const ushort Any = 255;
}
