namespace Router.Announcer.Health;

/// <summary>One probe of the instance: true when it may receive traffic.</summary>
internal interface IHealthCheck
{
    /// <summary>A short description for log lines, like <c>GET http://127.0.0.1:8080/health</c>.</summary>
    string Description { get; }

    /// <summary>Probes once; a failure is false with a reason, never an exception (except cancellation).</summary>
    Task<HealthCheckResult> CheckAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
