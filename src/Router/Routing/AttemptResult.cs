namespace Router.Routing;

/// <summary>What became of one attempt to forward a request to one host, on either forwarding path.</summary>
internal readonly record struct AttemptResult(AttemptOutcome Outcome, string? Reason)
{
    /// <summary>The host was reached; the client has its answer (or its error) and nothing is retried.</summary>
    public static readonly AttemptResult Done = new(AttemptOutcome.Reached, null);

    /// <summary>The client left while the router was still connecting: nobody to answer, and nothing learnt of the host.</summary>
    public static readonly AttemptResult ClientLeft = new(AttemptOutcome.ClientLeft, null);

    /// <summary>True when the connect failed: the host is set aside and the request may go to the next one.</summary>
    public bool ConnectFailed => Outcome == AttemptOutcome.ConnectFailed;

    /// <summary>Nothing reached the host: the request may go to the next one.</summary>
    public static AttemptResult ConnectFailure(string reason) => new(AttemptOutcome.ConnectFailed, reason);
}

/// <summary>How an attempt ended, as the host's passive health counts it.</summary>
internal enum AttemptOutcome
{
    /// <summary>The host accepted the connection: it is up, whatever it answered.</summary>
    Reached,

    /// <summary>The connect failed: the host is set aside and the next one tried.</summary>
    ConnectFailed,

    /// <summary>The client left before the connect ended: the host counts neither way.</summary>
    ClientLeft,
}
