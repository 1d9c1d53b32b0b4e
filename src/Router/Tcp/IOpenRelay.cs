using System.Net;

namespace Router.Tcp;

/// <summary>An open relay as its listener sees it: what the idle sweep, the privacy check and the drain need.</summary>
internal interface IOpenRelay
{
    IPAddress? ClientAddress { get; }

    /// <summary>When the last byte went through, as a <see cref="TimeProvider"/> timestamp.</summary>
    long LastActivity { get; }

    /// <summary>Ends the relay now, both ways. Any thread.</summary>
    void Abort();
}
