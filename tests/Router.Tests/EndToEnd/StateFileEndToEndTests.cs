using Router.Testing;

namespace Router.Tests;

/// <summary>
/// A state file of any content never stops the router: one it cannot use is logged as "No saved registry used"
/// and the router starts as without one, reads etcd, becomes ready and routes.
/// </summary>
public sealed class StateFileEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>, IDisposable
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("router-state-");

    [Theory]
    [InlineData("""{"version":1,"prefix":"PREFIX","revision":5,"keys":[{}]}""", "keys[0] has no key")]
    [InlineData("""{"version":1,"prefix":"PREFIX","revision":5,"keys":[null]}""", "keys[0] is not an object")]
    [InlineData("""{"version":1,"prefix":"PREFIX","revision":5,"keys":[{"key":"PREFIX/web/scheme","value":"aHR0cA==","mod":1e400}]}""", "unreadable")]
    public async Task Start_WrongShapeStateFileAndEtcdUp_ServesAndBecomesReady(string content, string reason)
    {
        var stateFile = Path.Combine(_dir.FullName, "registry.json");
        await File.WriteAllTextAsync(stateFile, content.Replace("PREFIX", _prefix, StringComparison.Ordinal));
        await using var web = await TestBackend.StartAsync("web-1");
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", web.Address);

        // StartAsync waits for /readyz: the first full read of etcd was applied.
        await using var router = await RouterProcess.StartAsync(_etcd.Url, _prefix, ["--state-file", stateFile]);

        await router.WaitRoutedAsync("web.example.com", "/", e => e.Name == "web-1");
        Assert.False(router.Process.HasExited);
        var line = router.Process.Lines.Single(l => l.Contains("No saved registry used", StringComparison.Ordinal));
        Assert.Contains(reason, line, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
