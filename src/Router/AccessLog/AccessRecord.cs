namespace Router.AccessLog;

/// <summary>
/// What the forwarding code knows about one request and the access log line needs: set as an
/// <see cref="Microsoft.AspNetCore.Http.HttpContext"/> feature only while the access log is on, so with it
/// off nothing is allocated and the forwarding code finds no record to fill.
/// </summary>
internal sealed class AccessRecord
{
    /// <summary>The service the request was routed to; null when none matched.</summary>
    public string? Service { get; set; }

    /// <summary>The host that answered (the last one tried), as <c>ip:port</c>; null when none was tried.</summary>
    public string? Backend { get; set; }

    /// <summary><c>direct</c> (the router's own HTTP/1.1 path) or <c>yarp</c>.</summary>
    public string? Forwarder { get; set; }

    /// <summary>Hosts tried again after a connect failure.</summary>
    public int Retries { get; set; }
}
