namespace Router.Dns;

/// <summary>
/// The event id of every log line this assembly writes (DNS responder and upstream forwarding), one const per [LoggerMessage].
/// The product's ids are unique across all assemblies: Registry 1000–1999, DNS 2000–2999, router 3000–3999,
/// announcer 4000–4999, so one number found in a log names one line (docs/reference.md, "Log event ids").
/// EventIdsTests in the test project check that every [LoggerMessage] here uses one, once, within 2000–2999.
/// </summary>
internal static class EventIds
{
    // DnsResponder
    public const int DnsListening = 2001;
    public const int DnsBindRetrying = 2002;
    public const int DnsUpstreamIsSelf = 2003;
    public const int DnsNoUpstreams = 2004;
    public const int DnsStopped = 2005;

    // UdpResponder
    public const int UdpPacketFailed = 2101;

    // TcpResponder
    public const int TcpConnectionFailed = 2111;

    // UdpUpstream
    public const int UdpUpstreamExchangeFailed = 2201;

    // UpstreamForwarder
    public const int UpstreamSilent = 2210;
}
