using System.Net.Http.Json;
using System.Text.Json.Serialization;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;

namespace Router.Testing;

/// <summary>
/// A real etcd: its own temporary data dir and free loopback ports, started from the <c>etcd</c> binary on
/// PATH (or <c>ETCD_BINARY</c>), checked to be the member it started, killed by process id on dispose.
/// </summary>
public sealed class EtcdProcess : IAsyncDisposable
{
    private readonly string _name = "test-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _dataDir;
    private readonly int _peerPort;
    private TestProcess? _process;
    private EtcdContainer? _container;
    private EtcdClient? _client;

    private EtcdProcess()
    {
        _dataDir = Directory.CreateTempSubdirectory("router-etcd-").FullName;
        ClientPort = Ports.FreeTcp();
        _peerPort = Ports.FreeTcp();
    }

    public int ClientPort { get; }

    public string Url => $"http://127.0.0.1:{ClientPort}";

    public int? ProcessId => _process?.Id;

    /// <summary>The member's data directory (deleted on dispose).</summary>
    public string DataDirectory => _dataDir;

    /// <summary>A dotnet-etcd client for the test's own puts and gets.</summary>
    public EtcdClient Client => _client ??= new EtcdClient(Url, configureChannelOptions: o => o.MaxReceiveMessageSize = 256 * 1024 * 1024);

    public static string Binary => FindBinary() ?? throw new InvalidOperationException(
        "No etcd binary and no Docker engine: install Debian's etcd-server (apt-get install -y etcd-server), or set " +
        "ETCD_BINARY to an etcd 3.4+ binary, or run a Docker engine for the Testcontainers fallback.");

    /// <summary><c>ETCD_BINARY</c>, else <c>etcd</c> on PATH, else null.</summary>
    public static string? FindBinary()
    {
        var configured = Environment.GetEnvironmentVariable("ETCD_BINARY");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.Combine(dir, "etcd");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static async Task<EtcdProcess> StartAsync()
    {
        var etcd = new EtcdProcess();
        await etcd.StartProcessAsync();
        return etcd;
    }

    /// <summary>Starts etcd again on the same ports and data (after <see cref="StopAsync"/> or <see cref="KillAsync"/>).</summary>
    public Task RestartAsync() => StartProcessAsync();

    public async Task StopAsync()
    {
        if (_container is not null)
        {
            await _container.StopAsync();
            return;
        }

        if (_process is null)
        {
            return;
        }

        await _process.StopAsync();
        await _process.DisposeAsync();
        _process = null;
    }

    public async Task KillAsync()
    {
        if (_container is not null)
        {
            await _container.KillAsync();
            return;
        }

        if (_process is null)
        {
            return;
        }

        await _process.KillAsync();
        await _process.DisposeAsync();
        _process = null;
    }

    public Task PutAsync(string key, string value) => Client.PutAsync(key, value);

    public Task PutAsync(string key, byte[] value) =>
        Client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFrom(value) });

    public Task DeleteAsync(string key) => Client.DeleteAsync(key);

    public Task DeletePrefixAsync(string prefix) => Client.DeleteRangeAsync(prefix);

    public async Task<string?> GetAsync(string key)
    {
        var response = await Client.GetAsync(key);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
    }

    public async Task<long> RevisionAsync() => (await Client.GetAsync("/")).Header.Revision;

    /// <summary>Compacts history up to the current revision, so older watch revisions are gone.</summary>
    public async Task<long> CompactAsync()
    {
        var revision = await RevisionAsync();
        await Client.CompactAsync(new CompactionRequest { Revision = revision, Physical = true });
        return revision;
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task StartProcessAsync()
    {
        var binary = FindBinary();
        if ((binary is null || EtcdContainer.Forced) && EtcdContainer.DockerAvailable)
        {
            // Fallback where a Docker engine runs and no etcd binary is installed (never the case in CI here).
            _container ??= new EtcdContainer(_name, ClientPort, _peerPort, dockerEndpoint: null, image: null, hostNetwork: null, apiVersion: null);
            await _container.StartAsync();
            await WaitHealthyAsync(() => null);
            return;
        }

        var peer = $"http://127.0.0.1:{_peerPort}";
        _process = TestProcess.Start(binary ?? Binary,
        [
            "--name", _name,
            "--data-dir", _dataDir,
            "--listen-client-urls", Url,
            "--advertise-client-urls", Url,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"{_name}={peer}",
            "--initial-cluster-token", _name,
            "--logger", "zap",
            "--log-level", "warn",
        ], name: "etcd");

        var process = _process;
        await WaitHealthyAsync(() => process.HasExited ? $"etcd exited with {process.ExitCode}:\n{process.Output}" : null);
    }

    /// <summary>Waits for /health, then checks that the etcd answering is the one started here.</summary>
    private async Task WaitHealthyAsync(Func<string?> failure)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Wait.UntilAsync(async () =>
        {
            if (failure() is { } reason)
            {
                throw new InvalidOperationException(reason);
            }

            var health = await http.GetFromJsonAsync<Health>($"{Url}/health");
            return health?.Value == "true";
        }, $"etcd at {Url} to be healthy", TimeSpan.FromSeconds(30));

        // Another etcd may have taken the port between our probe and its bind: make sure it is ours.
        var members = await Client.MemberListAsync(new MemberListRequest());
        if (members.Members.Count != 1 || members.Members[0].Name != _name)
        {
            throw new InvalidOperationException($"the etcd answering at {Url} is not the one this test started ({_name})");
        }
    }

    private sealed record Health([property: JsonPropertyName("health")] string Value);
}
