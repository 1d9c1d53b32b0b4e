using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Rollout.Fleet;

/// <summary>fleet's API documents, read and written with the web defaults (camelCase, any case on reading),
/// serialization made at build time so the router can be published ahead of time.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(FleetUnitPage))]
[JsonSerializable(typeof(FleetStatePage))]
[JsonSerializable(typeof(FleetMachinePage))]
[JsonSerializable(typeof(FleetUnit))]
[JsonSerializable(typeof(FleetUnitPut))]
[JsonSerializable(typeof(FleetErrorBody))]
internal sealed partial class FleetJson : JsonSerializerContext;
