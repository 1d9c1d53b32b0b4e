namespace Router.Dns;

/// <summary>
/// One upstream resolver as the responder sees it. <paramref name="Health"/> is <c>unknown</c> before it was
/// first asked, <c>up</c> when its last exchange gave an answer, <c>failing</c> after it timed out or errored.
/// </summary>
/// <param name="LatencyBuckets">Cumulative answer counts per bound of <see cref="DnsReport.LatencyBounds"/>, then +Inf.</param>
public sealed record DnsUpstreamReport(
    string Address,
    string Health,
    bool Preferred,
    int ConsecutiveFailures,
    long Answers,
    long Timeouts,
    long Errors,
    long Refused,
    DateTimeOffset? LastAnswer,
    DateTimeOffset? LastFailure,
    IReadOnlyList<long> LatencyBuckets,
    double LatencySumSeconds);
