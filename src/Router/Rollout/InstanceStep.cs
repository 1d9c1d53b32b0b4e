namespace Router.Rollout;

/// <summary>One instance in a rollout's record: its number, version, whether it is old or new, and its step.</summary>
internal sealed class InstanceStep
{
    public required int Number { get; init; }

    public required string Version { get; init; }

    /// <summary>True for an instance this rollout started.</summary>
    public required bool New { get; init; }

    public required InstanceState State { get; set; }

    public DateTimeOffset Updated { get; set; }

    public string? Reason { get; set; }
}
