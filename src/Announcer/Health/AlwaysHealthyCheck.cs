namespace Router.Announcer.Health;

/// <summary>No <c>--check</c>: the instance counts as healthy while the announcer runs.</summary>
internal sealed class AlwaysHealthyCheck : IHealthCheck
{
    public string Description => "none";

    public Task<HealthCheckResult> CheckAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.FromResult(HealthCheckResult.Pass);
}
