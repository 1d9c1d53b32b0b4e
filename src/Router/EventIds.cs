namespace Router;

/// <summary>
/// The event id of every log line this assembly writes (the router: routing, forwarding, host_ports, TLS, hosting), one const per [LoggerMessage].
/// The product's ids are unique across all assemblies: Registry 1000–1999, DNS 2000–2999, router 3000–3999,
/// announcer 4000–4999, so one number found in a log names one line (docs/reference.md, "Log event ids").
/// EventIdsTests in the test project check that every [LoggerMessage] here uses one, once, within 3000–3999.
/// </summary>
internal static class EventIds
{
    // MemoryReturn
    public const int MemoryReturned = 3060;

    // RouteTableHolder
    public const int RouteTableSwapped = 3200;
    public const int RouteFailed = 3201;
    public const int RouteRecovered = 3202;
    public const int HeapSettled = 3203;
    public const int ChangePathWarmupFailed = 3204;

    // ProxyHandler
    public const int ProxyConnectFailed = 3300;
    public const int ProxyHostAnsweringAgain = 3301;

    // DirectForwarder
    public const int DirectBackendFailed = 3310;
    public const int DirectClientGone = 3311;
    public const int DirectClientLeftDuringConnect = 3312;

    // LoopTransport (the HTTP port on the event loops)
    public const int HttpLoopAcceptFailed = 3320;
    public const int HttpConnectionLimitReached = 3321;
    public const int HttpLoopConnectionFailed = 3322;

    // TcpProxyListener
    public const int TcpRelayConnectFailed = 3400;
    public const int TcpRelayNoUsableHost = 3401;
    public const int TcpRelayTooManyConnections = 3402;
    public const int TcpRelayAcceptFailed = 3403;
    public const int TcpRelayIdleClosed = 3404;
    public const int TcpRelayDrainTimedOut = 3405;
    public const int TcpRelayHostAnsweringAgain = 3406;
    public const int TcpRelayOutsidersClosed = 3407;

    // EventLoop (the router's own epoll loops: TCP relays, and the HTTP port with --http-transport epoll)
    public const int TcpLoopWaitFailed = 3408;
    public const int TcpLoopHandlerFailed = 3409;

    // HostPortManager
    public const int HostPortOpened = 3410;
    public const int HostPortClosing = 3411;
    public const int HostPortStopFailed = 3413;
    public const int HostPortReconcileFailed = 3414;

    // ConnectionLimits
    public const int LimitsTcpLowered = 3420;
    public const int LimitsHttpLowered = 3421;
    public const int LimitsInForce = 3422;

    // ShutdownDelay
    public const int ShutdownDelaying = 3500;

    // SystemdNotifier
    public const int SystemdEnabled = 3520;
    public const int SystemdReady = 3521;
    public const int SystemdSendFailed = 3522;

    // CertificateStore
    public const int CertificateLoaded = 3600;
    public const int CertificateNoKey = 3601;
    public const int CertificateUnloadable = 3602;
    public const int CertificateFolderUnreadable = 3603;
    public const int CertificateKeptPrevious = 3604;

    // TlsPassthrough
    public const int PassthroughConnectFailed = 3610;
    public const int PassthroughNoUsableHost = 3611;
    public const int PassthroughHelloRefused = 3612;
    public const int PassthroughIdleClosed = 3613;
    public const int PassthroughOutsiderClosed = 3614;
    public const int PassthroughHostAnsweringAgain = 3615;
}
