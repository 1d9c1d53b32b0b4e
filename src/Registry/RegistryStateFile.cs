using System.Text.Json;
using System.Text.Json.Serialization;
using Router.Registry.Model;
using Router.Registry.Validation;

namespace Router.Registry;

/// <summary>
/// The last good registry on disk: every key under the prefix with its revisions, so a router restarted
/// while etcd is away can serve the table it had. Written to a temporary file and renamed over the old
/// one, so a crash mid-write leaves the previous file whole.
/// </summary>
public static partial class RegistryStateFile
{
    private const int FormatVersion = 1;


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
            await JsonSerializer.SerializeAsync(stream, document, StateJson.Default.StateDocument, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Reads a saved registry; false (with the reason) when there is none, it is unreadable, it is for another
    /// prefix, or anything in it is not what <see cref="SaveAsync"/> writes. Never throws for any content: a file
    /// that cannot be used must not keep the router from starting (it then starts empty and reads etcd).
    /// Nothing of a rejected file is used, not even its good entries.
    /// </summary>
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
            document = JsonSerializer.Deserialize(stream, StateJson.Default.StateDocument);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException
            or IOException or UnauthorizedAccessException)
        {
            // JsonException covers the syntax and every type mismatch (a string for a number, a number beyond long);
            // the others are the serializer's and the file system's ways of saying the same.
            reason = $"unreadable: {e.Message}";
            return false;
        }

        var list = new List<RegistryKeyValue>();
        if (Validate(document, prefix, list) is { } problem)
        {
            reason = problem;
            return false;
        }

        revision = document!.Revision;
        savedAt = document.SavedAt;
        keys = list;
        reason = "";
        return true;
    }

    /// <summary>The first thing wrong with <paramref name="document"/>, or null with its keys in <paramref name="keys"/>.</summary>
    private static string? Validate(StateDocument? document, string prefix, List<RegistryKeyValue> keys)
    {
        if (document is null || document.Version != FormatVersion)
        {
            return "not a saved registry of this version";
        }

        if (document.Prefix != prefix)
        {
            return $"saved for prefix {Printable(document.Prefix ?? "(none)")}, not {prefix}";
        }

        if (document.Keys is null)
        {
            return "no keys list";
        }

        if (document.Revision < 0)
        {
            return $"negative revision {document.Revision}";
        }

        var folder = prefix.TrimEnd('/') + "/";
        for (var i = 0; i < document.Keys.Count; i++)
        {
            var entry = document.Keys[i];
            if (entry is null)
            {
                return $"keys[{i}] is not an object";
            }

            if (string.IsNullOrEmpty(entry.Key))
            {
                return $"keys[{i}] has no key";
            }

            var name = Printable(entry.Key);
            if (!entry.Key.StartsWith(folder, StringComparison.Ordinal))
            {
                return $"keys[{i}]: {name} is not under {prefix}";
            }

            if (entry.Value is null)
            {
                return $"keys[{i}]: no value for {name}";
            }

            if (entry.Create < 0 || entry.Mod < 0 || entry.Lease < 0)
            {
                return $"keys[{i}]: negative revision or lease for {name}";
            }

            byte[] value;
            try
            {
                value = Convert.FromBase64String(entry.Value);
            }
            catch (FormatException)
            {
                return $"keys[{i}]: bad value for {name}";
            }

            keys.Add(new RegistryKeyValue(entry.Key, value, entry.Create, entry.Mod, entry.Lease));
        }

        return null;
    }

    /// <summary>Text from the file as it may appear in a log line: control characters escaped, length capped.</summary>
    private static string Printable(string text) => ServiceParser.Printable(text);

    // Everything below may be null or missing in a file someone else wrote; Validate checks before use.
    private sealed record StateDocument(
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("prefix")] string? Prefix,
        [property: JsonPropertyName("revision")] long Revision,
        [property: JsonPropertyName("savedAt")] DateTimeOffset SavedAt,
        [property: JsonPropertyName("keys")] IReadOnlyList<StateKey?>? Keys);

    private sealed record StateKey(
        [property: JsonPropertyName("key")] string? Key,
        [property: JsonPropertyName("value")] string? Value,
        [property: JsonPropertyName("create")] long Create,
        [property: JsonPropertyName("mod")] long Mod,
        [property: JsonPropertyName("lease")] long Lease);

    /// <summary>Serialization code made at build time: no reflection at run time, so the router can be published ahead of time.</summary>
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(StateDocument))]
    private sealed partial class StateJson : JsonSerializerContext;
}
