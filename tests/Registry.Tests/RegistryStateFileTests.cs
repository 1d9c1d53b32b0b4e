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

    public void Dispose() => _dir.Delete(recursive: true);
}
