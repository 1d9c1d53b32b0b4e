using System.Text.Json.Nodes;
using Router.Registry.Model;

namespace Router.Registry.Tests;

public sealed class RegistryStateFileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("registry-state-");

    private string FilePath => Path.Combine(_dir.FullName, "registry.json");

    [Fact]
    public async Task SaveThenLoad_SameKeysAndRevision()
    {
        RegistryKeyValue[] keys =
        [
            new("/services/web/scheme", "http"u8.ToArray(), 3, 4),
            new("/services/web/hosts/1", new byte[] { 0xff, 0x00, 0x31 }, 5, 5, LeaseId: 77),
        ];

        await RegistryStateFile.SaveAsync(FilePath, "/services", 9, keys, DateTimeOffset.UnixEpoch, CancellationToken.None);

        Assert.True(RegistryStateFile.TryLoad(FilePath, "/services", out var revision, out _, out var loaded, out var reason), reason);
        Assert.Equal(9, revision);
        Assert.Equal(2, loaded.Count);
        Assert.Equal(new byte[] { 0xff, 0x00, 0x31 }, loaded[1].Value.ToArray());
        Assert.Equal(77, loaded[1].LeaseId);
        Assert.Equal(3, loaded[0].CreateRevision);
        Assert.False(File.Exists(FilePath + ".tmp"));
    }

    [Fact]
    public void TryLoad_Missing_FalseWithReason()
    {
        Assert.False(RegistryStateFile.TryLoad(FilePath, "/services", out _, out _, out _, out var reason));
        Assert.Equal("no saved registry", reason);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("{\"version\":99,\"prefix\":\"/services\",\"revision\":1,\"keys\":[]}")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":1,\"keys\":[{\"key\":\"/services/a/scheme\",\"value\":\"***\"}]}")]
    public void TryLoad_Corrupt_False(string content)
    {
        File.WriteAllText(FilePath, content);

        Assert.False(RegistryStateFile.TryLoad(FilePath, "/services", out _, out _, out _, out var reason));
        Assert.NotEmpty(reason);
    }

    [Fact]
    public async Task TryLoad_OtherPrefix_False()
    {
        await RegistryStateFile.SaveAsync(FilePath, "/other", 1, [], DateTimeOffset.UnixEpoch, CancellationToken.None);

        Assert.False(RegistryStateFile.TryLoad(FilePath, "/services", out _, out _, out _, out var reason));
        Assert.Contains("/other", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[{}]}", "keys[0] has no key")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[null]}", "keys[0] is not an object")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[{\"value\":\"aHR0cA==\"}]}", "keys[0] has no key")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[{\"key\":\"\",\"value\":\"aHR0cA==\"}]}", "keys[0] has no key")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[{\"key\":\"/services/a/scheme\"}]}", "no value for /services/a/scheme")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[{\"key\":\"/elsewhere/a/scheme\",\"value\":\"\"}]}", "not under /services")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[{\"key\":\"/services/a/scheme\",\"value\":\"\",\"create\":-3}]}", "negative revision or lease")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":-1,\"keys\":[]}", "negative revision -1")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5}", "no keys list")]
    [InlineData("{\"version\":1,\"prefix\":null,\"revision\":5,\"keys\":[]}", "saved for prefix (none)")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":\"five\",\"keys\":[]}", "unreadable")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":99999999999999999999999,\"keys\":[]}", "unreadable")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[{\"key\":\"/services/a/scheme\",\"value\":\"\",\"lease\":1e400}]}", "unreadable")]
    [InlineData("{\"version\":1.5,\"prefix\":\"/services\",\"revision\":5,\"keys\":[]}", "unreadable")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":{}}", "unreadable")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"keys\":[1]}", "unreadable")]
    [InlineData("{\"version\":1,\"prefix\":\"/services\",\"revision\":5,\"savedAt\":\"yesterday\",\"keys\":[]}", "unreadable")]
    [InlineData("{\"version\":1,\"prefix\":[],\"revision\":5,\"keys\":[]}", "unreadable")]
    public void TryLoad_WrongShape_FalseNamingTheProblem(string content, string expected)
    {
        File.WriteAllText(FilePath, content);

        Assert.False(RegistryStateFile.TryLoad(FilePath, "/services", out var revision, out _, out var keys, out var reason));
        Assert.Contains(expected, reason, StringComparison.Ordinal);
        Assert.Empty(keys);
        Assert.Equal(0, revision);
    }

    [Fact]
    public void TryLoad_OneBadEntryAmongGoodOnes_NothingUsed()
    {
        File.WriteAllText(FilePath, """
            {"version":1,"prefix":"/services","revision":5,"keys":[
              {"key":"/services/web/scheme","value":"aHR0cA==","create":2,"mod":2},
              {"key":"/services/web/hosts/1"}]}
            """);

        Assert.False(RegistryStateFile.TryLoad(FilePath, "/services", out _, out _, out var keys, out var reason));
        Assert.Contains("keys[1]", reason, StringComparison.Ordinal);
        Assert.Empty(keys);
    }

    /// <summary>
    /// Fuzz over JSON shapes, not bytes: a good state file with one to three of its nodes replaced by, or removed
    /// for, any JSON (null, booleans, numbers beyond long, strings, arrays, objects), and wholly random documents.
    /// Whatever the loader says, it says it without throwing, and what it accepts can be seeded into the registry.
    /// </summary>
    [Fact]
    public void TryLoad_AnyJsonShape_NeverThrowsAndWhatItAcceptsSeeds()
    {
        var random = new Random(13);
        var accepted = 0;
        for (var i = 0; i < 3000; i++)
        {
            var document = i % 10 == 0 ? RandomNode(random, 0) : Mutate(random, GoodDocument());
            var text = document?.ToJsonString() ?? "null";
            File.WriteAllText(FilePath, text);

            bool loaded;
            long revision;
            IReadOnlyList<RegistryKeyValue> keys;
            string reason;
            try
            {
                loaded = RegistryStateFile.TryLoad(FilePath, "/services", out revision, out _, out keys, out reason);
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i} threw {e.GetType().Name}: {e.Message}\n{text}");
                return;
            }

            if (!loaded)
            {
                Assert.False(string.IsNullOrWhiteSpace(reason), $"case {i}: no reason\n{text}");
                Assert.Empty(keys);
                continue;
            }

            accepted++;
            Assert.All(keys, k => Assert.StartsWith("/services/", k.Key, StringComparison.Ordinal));
            var state = new RegistryState(new RegistryLayout("/services"));
            state.Load(keys, revision);
        }

        // The mutations must leave some documents valid, or the test would only ever see the reject path.
        Assert.InRange(accepted, 1, 2999);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static readonly string[] Names = ["version", "prefix", "revision", "savedAt", "keys", "key", "value", "create", "mod", "lease", "extra"];

    private static readonly string[] Numbers = ["0", "1", "-1", "5", "0.5", "1e400", "-1e400", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "99999999999999999999999999", "1E2"];

    private static readonly string[] Strings = ["", "/services", "/services/", "/services/web/scheme", "/services/web/hosts/1", "/other/x", "aHR0cA==", "***", "AAEC", "2025-01-01T00:00:00Z", "\u0000", "/services/\u0001/x", "/services//x", "/services/web"];

    private static JsonObject GoodDocument() => new()
    {
        ["version"] = 1,
        ["prefix"] = "/services",
        ["revision"] = 9,
        ["savedAt"] = "2025-01-01T00:00:00+00:00",
        ["keys"] = new JsonArray(
            new JsonObject { ["key"] = "/services/web/scheme", ["value"] = "aHR0cA==", ["create"] = 2, ["mod"] = 2, ["lease"] = 0 },
            new JsonObject { ["key"] = "/services/web/hosts/1", ["value"] = "MTI3LjAuMC4xOjk=", ["create"] = 3, ["mod"] = 3, ["lease"] = 7 }),
    };

    private static JsonObject Mutate(Random random, JsonObject document)
    {
        var count = random.Next(1, 4);
        for (var n = 0; n < count; n++)
        {
            // Either the document itself or one of its key entries.
            JsonObject target = document;
            if (random.Next(2) == 0 && document["keys"] is JsonArray { Count: > 0 } array)
            {
                var index = random.Next(array.Count);
                if (array[index] is JsonObject entry)
                {
                    target = entry;
                }
                else
                {
                    array[index] = RandomNode(random, 1);
                    continue;
                }
            }

            var name = Names[random.Next(Names.Length)];
            switch (random.Next(4))
            {
                case 0:
                    target.Remove(name);
                    break;
                case 1 when target["keys"] is JsonArray keys:
                    keys.Add(RandomNode(random, 1));
                    break;
                default:
                    target[name] = RandomNode(random, 1);
                    break;
            }
        }

        return document;
    }

    private static JsonNode? RandomNode(Random random, int depth) => random.Next(depth > 2 ? 5 : 8) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(2) == 0),
        2 => JsonNode.Parse(Numbers[random.Next(Numbers.Length)]),
        3 => JsonValue.Create(Strings[random.Next(Strings.Length)]),
        4 => JsonValue.Create(random.Next(-2, 20)),
        5 => new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => RandomNode(random, depth + 1))]),
        6 => new JsonObject(Enumerable.Range(0, random.Next(5)).Select(_ => Names[random.Next(Names.Length)]).Distinct()
            .Select(k => KeyValuePair.Create(k, RandomNode(random, depth + 1)))),
        _ => GoodDocument()["keys"]!.AsArray()[random.Next(2)]!.DeepClone(),
    };
}
