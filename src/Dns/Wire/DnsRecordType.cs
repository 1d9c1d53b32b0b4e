namespace Router.Dns.Wire;

/// <summary>The record types this responder reads or writes (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891).</summary>
internal static class DnsRecordType
{
    public const ushort A = 1;
    public const ushort Ns = 2;
    public const ushort Soa = 6;
    public const ushort Aaaa = 28;
    public const ushort Srv = 33;
    public const ushort Opt = 41;
    public const ushort Any = 255;
}
