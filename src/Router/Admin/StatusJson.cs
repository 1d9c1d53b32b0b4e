using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Admin;

/// <summary>
/// The <c>/status</c> document's serialization, made at build time: indented, camelCase, nulls written
/// (a missing field and a null one read differently to a script). No reflection at run time, so the
/// router can be published ahead of time.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(StatusReport))]
internal sealed partial class StatusJson : JsonSerializerContext;
