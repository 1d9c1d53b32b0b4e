using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Rollout;

/// <summary>The rollout's documents (the record in etcd, the <c>--json</c> progress lines), serialization made at
/// build time so the router can be published ahead of time. Options given at run time (the record's enum
/// converter) take precedence over these.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RolloutRecord))]
[JsonSerializable(typeof(ProgressLine))]
internal sealed partial class RolloutJson : JsonSerializerContext;
