using System.Text.Json;

namespace Router.Testing;

/// <summary>What a <see cref="TestBackend"/> saw of a request.</summary>
public sealed record BackendEcho(string Name, string Method, string Path, string Query, string Host, string ForwardedFor, string ForwardedProto, string ForwardedHost, string Body)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static BackendEcho Parse(string json) =>
        JsonSerializer.Deserialize<BackendEcho>(json, Json) ?? throw new InvalidOperationException($"not an echo: {json}");
}
