using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Router.Rollout;

/// <summary>
/// The plan and progress of one rollout, stored as JSON under <c>{rollout-prefix}/{name}/record</c>: which
/// version it moves from and to, and every instance touched, old and new, with the step it reached. A
/// mutable document: the runner changes it and writes it again (fenced by the lock) after every step.
/// </summary>
internal sealed class RolloutRecord
{
    // States read "in-place", "waiting-healthy": the converter in the options is the one the build-time
    // metadata uses for every enum.
    private static readonly JsonTypeInfo<RolloutRecord> Json = (JsonTypeInfo<RolloutRecord>)new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters =
        {
            new JsonStringEnumConverter<RolloutState>(JsonNamingPolicy.KebabCaseLower),
            new JsonStringEnumConverter<InstanceState>(JsonNamingPolicy.KebabCaseLower),
        },
        TypeInfoResolver = RolloutJson.Default,
    }.GetTypeInfo(typeof(RolloutRecord));

    public required string Service { get; init; }

    /// <summary>The version the instances ran before (the target of --undo).</summary>
    public required string From { get; init; }

    public required string To { get; init; }

    /// <summary>True for the rollout --undo started (From is then the version being left again).</summary>
    public bool Undo { get; init; }

    public required int Surge { get; init; }

    /// <summary>How many instances serve at the start; the rollout never leaves fewer usable than this.</summary>
    public required int Instances { get; init; }

    public RolloutState State { get; set; } = RolloutState.Running;

    /// <summary>"surge" while extra instances fit, "in-place" once the scheduler cannot place another.</summary>
    public string Mode { get; set; } = "surge";

    public string? Reason { get; set; }

    public required DateTimeOffset Started { get; init; }

    public DateTimeOffset Updated { get; set; }

    /// <summary>Who runs it: host, pid (of the latest run, after --resume).</summary>
    public string? Runner { get; set; }

    // Settable, not init: build-time JSON metadata would set an init-only list to null when a record lacks it.
    public List<InstanceStep> Steps { get; set; } = [];

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    public static RolloutRecord? Parse(string json) => JsonSerializer.Deserialize(json, Json);

    public InstanceStep Step(int number) => Steps.First(s => s.Number == number);
}
