namespace Router.Dns.Wire;

/// <summary>RFC 1035 §4.1.1 and RFC 6891 §9 (BADVERS is an extended code carried half in the OPT record).</summary>
internal static class DnsResponseCode
{
    public const int NoError = 0;
    public const int FormErr = 1;
    public const int ServFail = 2;
    public const int NxDomain = 3;
    public const int NotImp = 4;
    public const int Refused = 5;
    public const int BadVers = 16;
}
