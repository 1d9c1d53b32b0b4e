using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Router.Testing;

/// <summary>
/// A real etcd cluster of one or more members on loopback: free client and peer ports, a temporary data dir per
/// member, one <c>--initial-cluster</c> of them all. Optionally with client TLS (<c>https://</c> client URLs,
/// client certificates required) and extra etcd flags (auth token type…). Start waits until every member answers
/// and knows a leader, and checks that the members are the ones this test started. Members are stopped and
/// restarted one by one; dispose kills what still runs, by process id.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly string _token = "test-" + Guid.NewGuid().ToString("N")[..12];
    private readonly Member[] _members;
    private readonly TestCertificates? _tls;
    private readonly IReadOnlyList<string> _extraArgs;
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2Collection? _trust;
    private int _next;
    private (string User, string Password)? _login;

    private EtcdCluster(int size, TestCertificates? tls, IEnumerable<string>? extraArgs)
    {
        _tls = tls;
        _extraArgs = [.. extraArgs ?? []];
        var scheme = tls is null ? "http" : "https";
        _members = [.. Enumerable.Range(0, size).Select(i => new Member(
            $"{_token}-{i}",
            Directory.CreateTempSubdirectory("router-etcd-cluster-").FullName,
            $"{scheme}://127.0.0.1:{Ports.FreeTcp()}",
            $"http://127.0.0.1:{Ports.FreeTcp()}"))];
        if (tls is not null)
        {
            _trust = [];
            _trust.ImportFromPemFile(tls.CaFile);
            using var pem = X509Certificate2.CreateFromPemFile(tls.ClientCertFile, tls.ClientKeyFile);
            _clientCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
    }

    public int Count => _members.Length;

    /// <summary>Every member's client URL, comma-joined: what <c>--etcd</c> takes.</summary>
    public string Urls => string.Join(',', _members.Select(m => m.ClientUrl));

    /// <summary>The auth token this cluster's own calls send (see <see cref="AuthenticateAsync"/>).</summary>
    public string? Token { get; private set; }

    public string Url(int member) => _members[member].ClientUrl;

    public bool IsRunning(int member) => _members[member].Process is { HasExited: false };

    /// <summary>The output of a member (its current run).</summary>
    public string Output(int member) => _members[member].Process?.Output ?? "";

    public static async Task<EtcdCluster> StartAsync(int size = 3, TestCertificates? tls = null, IEnumerable<string>? extraArgs = null)
    {
        var cluster = new EtcdCluster(size, tls, extraArgs);
        try
        {
            for (var i = 0; i < size; i++)
            {
                cluster.StartMember(i);
            }

            await Task.WhenAll(Enumerable.Range(0, size).Select(cluster.WaitHealthyAsync));
            await cluster.CheckMembersAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops a member with SIGTERM (as systemd would) and waits for its exit.</summary>
    public async Task StopMemberAsync(int member)
    {
        var m = _members[member];
        if (m.Process is null)
        {
            return;
        }

        await m.Process.StopAsync();
        await m.Process.DisposeAsync();
        m.Process = null;
        m.DisposeChannel();
    }

    /// <summary>Starts a stopped member again on its ports and data, and waits until it is back in the cluster.</summary>
    public async Task RestartMemberAsync(int member)
    {
        StartMember(member);
        await WaitHealthyAsync(member);
    }

    /// <summary>The index of the leader, asked of every running member (<c>Header.MemberId == Leader</c>).</summary>
    public async Task<int> LeaderIndexAsync()
    {
        var leader = -1;
        await Wait.UntilAsync(async () =>
        {
            for (var i = 0; i < _members.Length; i++)
            {
                if (!IsRunning(i))
                {
                    continue;
                }

                var status = await StatusAsync(i);
                if (status.Leader != 0 && status.Header.MemberId == status.Leader)
                {
                    leader = i;
                    return true;
                }
            }

            return false;
        }, "a leader among the running etcd members");
        return leader;
    }

    public async Task<StatusResponse> StatusAsync(int member) =>
        await new Maintenance.MaintenanceClient(Channel(member)).StatusAsync(new StatusRequest(), Options());

    /// <summary>
    /// Puts through the running members, starting with the next one in turn and moving on while a member is
    /// unreachable or the cluster has no leader, until the put is acknowledged (or 20 s have passed).
    /// </summary>
    public async Task PutAsync(string key, string value)
    {
        var start = Interlocked.Increment(ref _next);
        var attempt = 0;
        await Wait.UntilAsync(async () =>
        {
            var member = (int)((uint)(start + attempt++) % (uint)_members.Length);
            if (!IsRunning(member))
            {
                return false;
            }

            try
            {
                // A short deadline: a put sent to a member that lost its leader waits for a new one, or for nothing.
                await new KV.KVClient(Channel(member)).PutAsync(
                    new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) }, Options(TimeSpan.FromSeconds(1)));
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated && _login is { } login)
            {
                // Our own token expired (short token TTLs in auth tests): log in again and retry.
                await AuthenticateAsync(login.User, login.Password);
                return false;
            }
        }, $"etcd to accept a put of {key}");
    }

    public async Task PutThroughAsync(int member, string key, string value) =>
        await new KV.KVClient(Channel(member)).PutAsync(
            new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) }, Options());

    public async Task<string?> GetAsync(string key)
    {
        var member = Enumerable.Range(0, _members.Length).First(IsRunning);
        var response = await new KV.KVClient(Channel(member)).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, Options());
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
    }

    /// <summary>The auth API of a running member, with this cluster's TLS settings.</summary>
    public Auth.AuthClient Auth(int member = 0) => new(Channel(member));

    /// <summary>Call options with <see cref="Token"/> (when set) and a deadline.</summary>
    public CallOptions Options(TimeSpan? timeout = null) =>
        new(Token is null ? null : new Metadata { { "token", Token } }, DateTime.UtcNow + (timeout ?? CallTimeout));

    /// <summary>Authenticates on the first running member; later calls of this cluster send that token.</summary>
    public async Task AuthenticateAsync(string user, string password)
    {
        var member = Enumerable.Range(0, _members.Length).First(IsRunning);
        var response = await Auth(member).AuthenticateAsync(
            new AuthenticateRequest { Name = user, Password = password }, new CallOptions(deadline: DateTime.UtcNow + CallTimeout));
        Token = response.Token;
        _login = (user, password);
    }

    /// <summary>
    /// Turns etcd auth on with a <c>root</c> user and a user that may read (or read and write) everything under
    /// <paramref name="prefix"/> and nothing else; this cluster's own calls go on as root.
    /// </summary>
    public async Task EnableAuthAsync(string rootPassword, string user, string password, string prefix, bool write = false)
    {
        var auth = Auth();
        var options = Options();
        await auth.UserAddAsync(new AuthUserAddRequest { Name = "root", Password = rootPassword }, options);
        await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "root", Role = "root" }, options);
        var role = user + "-role";
        await auth.RoleAddAsync(new AuthRoleAddRequest { Name = role }, options);
        await auth.RoleGrantPermissionAsync(new AuthRoleGrantPermissionRequest
        {
            Name = role,
            Perm = new Authpb.Permission
            {
                PermType = write ? Authpb.Permission.Types.Type.Readwrite : Authpb.Permission.Types.Type.Read,
                Key = ByteString.CopyFromUtf8(prefix),
                RangeEnd = ByteString.CopyFromUtf8(prefix[..^1] + (char)(prefix[^1] + 1)),
            },
        }, options);
        await auth.UserAddAsync(new AuthUserAddRequest { Name = user, Password = password }, options);
        await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = user, Role = role }, options);
        await auth.AuthEnableAsync(new AuthEnableRequest(), options);
        await AuthenticateAsync("root", rootPassword);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
        {
            member.DisposeChannel();
            if (member.Process is not null)
            {
                await member.Process.DisposeAsync();
                member.Process = null;
            }

            try
            {
                Directory.Delete(member.DataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        _clientCertificate?.Dispose();
    }

    private void StartMember(int index)
    {
        var m = _members[index];
        var args = new List<string>
        {
            "--name", m.Name,
            "--data-dir", m.DataDir,
            "--listen-client-urls", m.ClientUrl,
            "--advertise-client-urls", m.ClientUrl,
            "--listen-peer-urls", m.PeerUrl,
            "--initial-advertise-peer-urls", m.PeerUrl,
            "--initial-cluster", string.Join(',', _members.Select(x => $"{x.Name}={x.PeerUrl}")),
            "--initial-cluster-token", _token,
            "--initial-cluster-state", "new",
            "--logger", "zap",
            "--log-level", "warn",
            // Cheap password hashing: auth tests add users and authenticate often.
            "--bcrypt-cost", "4",
        };
        if (_tls is not null)
        {
            args.AddRange(["--cert-file", _tls.ServerCertFile, "--key-file", _tls.ServerKeyFile, "--trusted-ca-file", _tls.CaFile, "--client-cert-auth"]);
        }

        args.AddRange(_extraArgs);
        m.DisposeChannel();
        m.Process = TestProcess.Start(EtcdProcess.Binary, args, name: m.Name);
    }

    private Task WaitHealthyAsync(int index) =>
        Wait.UntilAsync(async () =>
        {
            var process = _members[index].Process!;
            if (process.HasExited)
            {
                throw new InvalidOperationException($"etcd member {index} exited with {process.ExitCode}:\n{process.Output}");
            }

            var status = await new Maintenance.MaintenanceClient(Channel(index)).StatusAsync(
                new StatusRequest(), new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(1)));
            return status.Leader != 0;
        }, $"etcd member {index} at {_members[index].ClientUrl} to be healthy", TimeSpan.FromSeconds(30));

    private async Task CheckMembersAsync()
    {
        // Another etcd may have taken a port between our probe and its bind: make sure every member is ours.
        var expected = _members.Select(m => m.Name).Order(StringComparer.Ordinal).ToArray();
        for (var i = 0; i < _members.Length; i++)
        {
            var list = await new Cluster.ClusterClient(Channel(i)).MemberListAsync(new MemberListRequest(), Options());
            var names = list.Members.Select(m => m.Name).Order(StringComparer.Ordinal).ToArray();
            var status = await StatusAsync(i);
            var self = list.Members.FirstOrDefault(m => m.ID == status.Header.MemberId);
            if (!names.SequenceEqual(expected) || self?.Name != _members[i].Name)
            {
                throw new InvalidOperationException(
                    $"the etcd answering at {_members[i].ClientUrl} is not member {_members[i].Name} of this test's cluster (members: {string.Join(", ", names)})");
            }
        }
    }

    /// <summary>The channel to a member, with this cluster's TLS settings.</summary>
    public GrpcChannel Channel(int index)
    {
        var m = _members[index];
        return m.Channel ??= GrpcChannel.ForAddress(m.ClientUrl, new GrpcChannelOptions
        {
            HttpHandler = Handler(),
            DisposeHttpClient = true,
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
        });
    }

    private SocketsHttpHandler Handler()
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), UseProxy = false };
        if (_trust is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [_clientCertificate!],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(_trust);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return chain.Build(leaf);
                },
            };
        }

        return handler;
    }

    private sealed class Member(string name, string dataDir, string clientUrl, string peerUrl)
    {
        public string Name { get; } = name;

        public string DataDir { get; } = dataDir;

        public string ClientUrl { get; } = clientUrl;

        public string PeerUrl { get; } = peerUrl;

        public TestProcess? Process { get; set; }

        public GrpcChannel? Channel { get; set; }

        public void DisposeChannel()
        {
            Channel?.Dispose();
            Channel = null;
        }
    }
}
