namespace Router.Dns.Responding;

internal enum ProcessResult
{
    /// <summary>Nothing is sent back.</summary>
    Drop,

    /// <summary>The response buffer holds the answer.</summary>
    Respond,

    /// <summary>The answer must come from upstream: call <see cref="DnsProcessor.ForwardAsync"/>.</summary>
    Forward,
}
