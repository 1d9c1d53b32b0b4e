using Router.Metrics;

namespace Router.Admin;

/// <summary>What the status page shows beyond <c>/status</c>: the rate history and the change-to-live histogram.</summary>
/// <param name="Rates">Per service, requests and 5xx answers per second, oldest first.</param>
internal sealed record PageExtras(IReadOnlyDictionary<string, (double[] Requests, double[] Errors)> Rates, SecondsHistogram ApplyTimes);
