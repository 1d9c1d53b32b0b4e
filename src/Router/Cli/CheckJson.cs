using System.Text.Json;
using System.Text.Json.Serialization;

namespace Router.Cli;

/// <summary><c>router check --json</c>'s serialization, made at build time (the same shape as <c>/status</c>'s).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(CheckReport))]
internal sealed partial class CheckJson : JsonSerializerContext;
