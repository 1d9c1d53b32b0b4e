namespace Router.Announcer.Health;

/// <summary>The outcome of one probe; <see cref="Reason"/> says why it failed, for the log.</summary>
internal readonly record struct HealthCheckResult(bool Healthy, string Reason)
{
    public static HealthCheckResult Pass { get; } = new(true, "");

    public static HealthCheckResult Fail(string reason) => new(false, reason);
}
