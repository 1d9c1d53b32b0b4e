using System.Text.Json;
using System.Text.Json.Serialization;
using Router.Registry.Model;

namespace Router.Registry;

/// <summary>
/// The last good registry on disk: every key under the prefix with its revisions, so a router restarted
/// while etcd is away can serve the table it had. Written to a temporary file and renamed over the old
/// one, so a crash mid-write leaves the previous file whole.
/// </summary>
public static class RegistryStateFile
{
    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task SaveAsync(string path, string prefix, long revision, IEnumerable<RegistryKeyValue> keys, DateTimeOffset savedAt, CancellationToken cancellationToken)
    {
        var document = new StateDocument(
            FormatVersion,
            prefix,
            revision,
            savedAt,
            [.. keys.Select(k => new StateKey(k.Key, Convert.ToBase64String(k.Value.Span), k.CreateRevision, k.ModRevision, k.LeaseId))]);
        var temporary = path + ".tmp";
        await using (var stream = File.Create(temporary))
        {
            await JsonSerializer.SerializeAsync(stream, document, Json, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a saved registry; false (with the reason) when there is none, it is unreadable, or it is for another prefix.</summary>
    public static bool TryLoad(string path, string prefix, out long revision, out DateTimeOffset savedAt, out IReadOnlyList<RegistryKeyValue> keys, out string reason)
    {
        revision = 0;
        savedAt = default;
        keys = [];
        if (!File.Exists(path))
        {
            reason = "no saved registry";
            return false;
        }

        StateDocument? document;
        try
        {
            using var stream = File.OpenRead(path);
            document = JsonSerializer.Deserialize<StateDocument>(stream, Json);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            reason = $"unreadable: {e.Message}";
            return false;
        }

        if (document is null || document.Version != FormatVersion || document.Keys is null)
        {
            reason = "not a saved registry of this version";
            return false;
        }

        if (document.Prefix != prefix)
        {
            reason = $"saved for prefix {document.Prefix}, not {prefix}";
            return false;
        }

        var list = new List<RegistryKeyValue>(document.Keys.Count);
        foreach (var key in document.Keys)
        {
            byte[] value;
            try
            {
                value = Convert.FromBase64String(key.Value);
            }
            catch (FormatException)
            {
                reason = $"bad value for {key.Key}";
                return false;
            }

            list.Add(new RegistryKeyValue(key.Key, value, key.Create, key.Mod, key.Lease));
        }

        revision = document.Revision;
        savedAt = document.SavedAt;
        keys = list;
        reason = "";
        return true;
    }

    private sealed record StateDocument(
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("prefix")] string Prefix,
        [property: JsonPropertyName("revision")] long Revision,
        [property: JsonPropertyName("savedAt")] DateTimeOffset SavedAt,
        [property: JsonPropertyName("keys")] IReadOnlyList<StateKey> Keys);

    private sealed record StateKey(
        [property: JsonPropertyName("key")] string Key,
        [property: JsonPropertyName("value")] string Value,
        [property: JsonPropertyName("create")] long Create,
        [property: JsonPropertyName("mod")] long Mod,
        [property: JsonPropertyName("lease")] long Lease);
}
