namespace Router.Rollout;

/// <summary>One line of <c>router rollout --json</c>: every field written, null included, in this order.</summary>
internal sealed record ProgressLine(string Time, string Service, int? Instance, string Step, string? Detail);
