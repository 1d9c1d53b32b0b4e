namespace Router.Routing;

/// <summary>What became of one attempt to forward a request to one host, on either forwarding path.</summary>
internal readonly record struct AttemptResult(bool ConnectFailed, string? Reason)
{
    /// <summary>The host was reached; the client has its answer (or its error) and nothing is retried.</summary>
    public static readonly AttemptResult Done = new(false, null);

    /// <summary>Nothing reached the host: the request may go to the next one.</summary>
    public static AttemptResult ConnectFailure(string reason) => new(true, reason);
}
