using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Rollout.Processes;

/// <summary><c>unit.json</c> and the instance files: camelCase, any case on reading, nulls left out;
/// serialization made at build time so the router can be published ahead of time.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProcessUnit))]
[JsonSerializable(typeof(ProcessInstance))]
internal sealed partial class ProcessJson : JsonSerializerContext;
