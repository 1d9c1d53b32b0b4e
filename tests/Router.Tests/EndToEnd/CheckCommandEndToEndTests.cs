using System.Text;
using System.Text.Json;
using Router.Registry;
using Router.Registry.Model;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// <c>router check</c>, the real executable against the collection's etcd: 0 on a clean registry, 1 with the
/// problems in words (each kind the registry can hold), 2 on bad options, an etcd it cannot reach or a file
/// it cannot use; <c>--file</c> reads a saved state file, <c>--json</c> is one parseable document.
/// </summary>
public sealed class CheckCommandEndToEndTests(SharedEtcdFixture fixture) : IClassFixture<SharedEtcdFixture>, IDisposable
{
    private readonly EtcdProcess _etcd = fixture.Etcd;
    private readonly string _prefix = EtcdFixture.NewPrefix();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("router-check-");

    [Fact]
    public async Task Check_CleanRegistry_Exit0WithServicesAndPlan()
    {
        await _etcd.PutAsync($"{_prefix}/web/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/web/hosts/1", "127.0.0.1:5001");
        await _etcd.PutAsync($"{_prefix}/web/hosts/2", "127.0.0.1:5002");
        await _etcd.PutAsync($"{_prefix}/db/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/db/host_port", "15432");
        await _etcd.PutAsync($"{_prefix}/db/hosts/a", "127.0.0.1:5432");

        var (exit, output) = await CheckAsync();

        Assert.True(exit == 0, output);
        Assert.Contains("2 services, clean", output, StringComparison.Ordinal);
        Assert.Contains("web  http: 1=127.0.0.1:5001 2=127.0.0.1:5002", output, StringComparison.Ordinal);
        Assert.Contains("db   tcp, host_port 15432: a=127.0.0.1:5432", output, StringComparison.Ordinal);
        Assert.Contains("15432  db", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Problems", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_EveryKindOfBadEntry_Exit1WithEachProblemInWords()
    {
        var ownPort = Ports.FreeTcp();
        await _etcd.PutAsync($"{_prefix}/good/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/good/hosts/1", "127.0.0.1:5001");
        await _etcd.PutAsync($"{_prefix}/typo/scheme", "htp");
        await _etcd.PutAsync($"{_prefix}/noscheme/hosts/1", "127.0.0.1:5001");
        await _etcd.PutAsync($"{_prefix}/badhost/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/badhost/hosts/1", "127.0.0.1:99999");
        await _etcd.PutAsync($"{_prefix}/badhost/hosts/2", "127.0.0.1:5003");
        await _etcd.PutAsync($"{_prefix}/badport/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/badport/host_port", "http");
        await _etcd.PutAsync($"{_prefix}/lonely/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/lonely/hosts/1", "127.0.0.1:5004");
        await _etcd.PutAsync($"{_prefix}/Bad_Name/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/strip/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/strip/strip_path", "yes");
        await _etcd.PutAsync($"{_prefix}/older/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/older/host_port", "16000");
        await _etcd.PutAsync($"{_prefix}/newer/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/newer/host_port", "16000");
        await _etcd.PutAsync($"{_prefix}/mine/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/mine/host_port", ownPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await _etcd.PutAsync($"{_prefix}/binary/scheme", [0xff, 0xfe]);

        var (exit, output) = await CheckAsync("--http", $"127.0.0.1:{ownPort}");

        Assert.True(exit == 1, output);
        Assert.Contains("unknown scheme 'htp'", output, StringComparison.Ordinal);
        Assert.Contains($"{_prefix}/noscheme/hosts/1: no scheme key; service skipped", output, StringComparison.Ordinal);
        Assert.Contains($"{_prefix}/badhost/hosts/1: host '127.0.0.1:99999'", output, StringComparison.Ordinal);
        Assert.Contains("host_port 'http' is not a number from 1 to 65535; host_port ignored", output, StringComparison.Ordinal);
        Assert.Contains("tcp service without a valid host_port is not reachable; service skipped", output, StringComparison.Ordinal);
        Assert.Contains("service name 'Bad_Name' is not a DNS label", output, StringComparison.Ordinal);
        Assert.Contains("strip_path 'yes' is not true or false", output, StringComparison.Ordinal);
        Assert.Contains("host_port 16000 is already claimed by service 'older' (older key); host_port ignored", output, StringComparison.Ordinal);
        Assert.Contains($"host_port {ownPort} is the router's own port (--http); not served", output, StringComparison.Ordinal);
        Assert.Contains("value is not UTF-8 text; key skipped", output, StringComparison.Ordinal);

        // Per service, under its name; the host_port plan names the winner and the loser of the conflict.
        Assert.Matches(@"\n  typo\n    \S+/typo/scheme: unknown scheme", output);
        Assert.Contains("16000  older (conflict: also claimed by newer, ignored: older's key is older)", output, StringComparison.Ordinal);
        Assert.Contains($"{ownPort}  not served: the router's own port (--http) (claimed by mine)", output, StringComparison.Ordinal);

        // The good parts are still there: the host beside the bad one, and the services with bad optional keys.
        Assert.Contains("badhost  http: 2=127.0.0.1:5003", output, StringComparison.Ordinal);
        Assert.Contains("good     http: 1=127.0.0.1:5001", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_Json_OneDocumentWithProblemsAndPlan()
    {
        await _etcd.PutAsync($"{_prefix}/older/scheme", "tcp");
        await _etcd.PutAsync($"{_prefix}/older/host_port", "16001");
        await _etcd.PutAsync($"{_prefix}/older/hosts/1", "127.0.0.1:6001");
        await _etcd.PutAsync($"{_prefix}/newer/scheme", "http");
        await _etcd.PutAsync($"{_prefix}/newer/host_port", "16001");
        await _etcd.PutAsync($"{_prefix}/newer/hosts/x", "[::1]:6002");

        var (exit, output) = await CheckAsync("--json");

        Assert.True(exit == 1, output);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.False(root.GetProperty("clean").GetBoolean());
        Assert.Equal(_prefix, root.GetProperty("prefix").GetString());
        Assert.True(root.GetProperty("revision").GetInt64() > 0);
        var problem = Assert.Single(root.GetProperty("problems").EnumerateArray());
        Assert.Equal("newer", problem.GetProperty("service").GetString());
        Assert.Equal($"{_prefix}/newer/host_port", problem.GetProperty("key").GetString());
        var claim = Assert.Single(root.GetProperty("hostPorts").EnumerateArray());
        Assert.Equal(16001, claim.GetProperty("port").GetInt32());
        Assert.Equal("older", claim.GetProperty("winner").GetString());
        Assert.Equal(["newer"], claim.GetProperty("ignored").EnumerateArray().Select(e => e.GetString()));
        var newer = root.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "newer");
        Assert.Equal("[::1]:6002", Assert.Single(newer.GetProperty("hosts").EnumerateArray()).GetProperty("address").GetString());
    }

    [Fact]
    public async Task Check_EtcdUnreachable_Exit2WithReason()
    {
        var nobody = $"http://127.0.0.1:{Ports.FreeTcp()}";

        var (exit, output) = await CheckAsync("--etcd", nobody);

        Assert.True(exit == 2, output);
        Assert.Contains($"router check: cannot read etcd {nobody}", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--frobnicate", "router check: --frobnicate: unknown option (see router check --help)")]
    [InlineData("--prefix=nope", "router check: --prefix:")]
    [InlineData("--file", "router check: --file: needs a value")]
    public async Task Check_BadOption_Exit2NamingIt(string option, string expected)
    {
        await using var process = TestProcess.Start(RouterProcess.Executable, ["check", "--etcd", _etcd.Url, option], name: "check");

        Assert.Equal(2, await process.WaitForExitAsync());
        var line = Assert.Single(process.Lines, l => l.Length > 0);
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_File_ReadsTheSavedRegistryWithoutEtcd()
    {
        var path = Path.Combine(_dir.FullName, "registry.json");
        RegistryKeyValue Key(string rest, string value, long revision) => new($"{_prefix}/{rest}", Encoding.UTF8.GetBytes(value), revision, revision);
        await RegistryStateFile.SaveAsync(path, _prefix, 7, [Key("web/scheme", "http", 2), Key("web/hosts/1", "10.0.0.5:8080", 3), Key("api/scheme", "gopher", 4)], DateTimeOffset.UtcNow, CancellationToken.None);

        // An etcd nobody answers on: the file alone is read.
        var (exit, output) = await CheckAsync("--etcd", $"http://127.0.0.1:{Ports.FreeTcp()}", "--file", path);

        Assert.True(exit == 1, output);
        Assert.Contains($"file {path}", output, StringComparison.Ordinal);
        Assert.Contains("revision 7: 1 service, 1 problem", output, StringComparison.Ordinal);
        Assert.Contains("web  http: 1=10.0.0.5:8080", output, StringComparison.Ordinal);
        Assert.Contains("unknown scheme 'gopher'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_FileUnusable_Exit2WithReason()
    {
        var path = Path.Combine(_dir.FullName, "broken.json");
        await File.WriteAllTextAsync(path, "{ not json");

        var (exit, output) = await CheckAsync("--file", path);

        Assert.True(exit == 2, output);
        Assert.Contains($"router check: --file {path}: unreadable", output, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private async Task<(int Exit, string Output)> CheckAsync(params string[] extra)
    {
        await using var process = TestProcess.Start(RouterProcess.Executable, ["check", "--etcd", _etcd.Url, "--prefix", _prefix, .. extra], name: "check");
        var exit = await process.WaitForExitAsync();
        return (exit, process.Output);
    }
}
