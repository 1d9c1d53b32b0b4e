using System.Text;
using Router.Registry.Model;

namespace Router.Registry.Tests;

public sealed class RegistryStateTests
{
    private const string P = "/services/";
    private long _revision;

    [Fact]
    public void Load_ValidService_HasHostsInCreateRevisionOrder()
    {
        var state = new RegistryState(new RegistryLayout());
        state.Load([Kv("web/scheme", "http"), Kv("web/hosts/b", "10.0.0.2:80"), Kv("web/hosts/a", "10.0.0.1:80")], 10);

        var web = state.Snapshot.Services["web"];
        Assert.Equal(ServiceScheme.Http, web.Scheme);
        Assert.Equal(["b", "a"], web.Hosts.Select(h => h.Id));
        Assert.Empty(state.Snapshot.Problems);
        Assert.Equal(10, state.Snapshot.Revision);
    }

    [Theory]
    [InlineData("http", ServiceScheme.Http)]
    [InlineData("https", ServiceScheme.Https)]
    [InlineData("http-and-https", ServiceScheme.HttpAndHttps)]
    [InlineData("TCP\n", ServiceScheme.Tcp)]
    [InlineData("tls", ServiceScheme.Tls)]
    [InlineData(" TLS ", ServiceScheme.Tls)]
    public void Load_KnownSchemes_Parsed(string value, ServiceScheme scheme)
    {
        var state = Loaded(Kv("s/scheme", value), Kv("s/host_port", "7000"));
        Assert.Equal(scheme, state.Snapshot.Services["s"].Scheme);
    }

    [Fact]
    public void Load_UnknownScheme_SkipsOnlyThatService()
    {
        var state = Loaded(Kv("bad/scheme", "ftp"), Kv("bad/hosts/1", "10.0.0.1:80"), Kv("web/scheme", "http"), Kv("web/hosts/1", "10.0.0.2:80"));

        Assert.False(state.Snapshot.Services.ContainsKey("bad"));
        Assert.True(state.Snapshot.Services.ContainsKey("web"));
        var problem = Assert.Single(state.Snapshot.Problems);
        Assert.Equal("/services/bad/scheme", problem.Key);
        Assert.Contains("unknown scheme 'ftp'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TlsWithoutHostPort_KeptAsItIsServedOnTheHttpsPort()
    {
        var state = Loaded(Kv("mq/scheme", "tls"), Kv("mq/hosts/1", "10.0.0.1:5671"));

        Assert.Equal(ServiceScheme.Tls, state.Snapshot.Services["mq"].Scheme);
        Assert.Null(state.Snapshot.Services["mq"].HostPort);
        Assert.Empty(state.Snapshot.Problems);
    }

    [Fact]
    public void Load_MisspelledTls_SkipsOnlyThatServiceAndNamesTheSchemes()
    {
        var state = Loaded(Kv("mq/scheme", "tls1.3"), Kv("mq/hosts/1", "10.0.0.1:5671"), Kv("web/scheme", "http"));

        Assert.False(state.Snapshot.Services.ContainsKey("mq"));
        Assert.True(state.Snapshot.Services.ContainsKey("web"));
        var problem = Assert.Single(state.Snapshot.Problems);
        Assert.Contains("unknown scheme 'tls1.3' (expected http, https, http-and-https, tcp or tls)", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingScheme_SkipsService()
    {
        var state = Loaded(Kv("noscheme/hosts/1", "10.0.0.1:80"), Kv("web/scheme", "http"));

        Assert.False(state.Snapshot.Services.ContainsKey("noscheme"));
        Assert.Contains(state.Snapshot.Problems, p => p.Service == "noscheme" && p.Message.Contains("no scheme", StringComparison.Ordinal));
        Assert.True(state.Snapshot.Services.ContainsKey("web"));
    }

    [Theory]
    [InlineData("we_b")]
    [InlineData("-web")]
    [InlineData("web.example")]
    public void Load_NameNotDnsLabel_SkipsService(string name)
    {
        var state = Loaded(Kv($"{name}/scheme", "http"), Kv($"{name}/hosts/1", "10.0.0.1:80"), Kv("web/scheme", "http"));

        Assert.Single(state.Snapshot.Services);
        var problem = Assert.Single(state.Snapshot.Problems);
        Assert.Equal(name, problem.Service);
        Assert.Contains("not a DNS label", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("10.0.0.1:99999")]
    [InlineData("fd00::1:80")]
    [InlineData("not an address")]
    [InlineData("")]
    public void Load_BadHostAddress_SkipsOnlyThatHost(string address)
    {
        var state = Loaded(Kv("web/scheme", "http"), Kv("web/hosts/good", "10.0.0.1:80"), Kv("web/hosts/bad", address));

        var web = state.Snapshot.Services["web"];
        Assert.Equal(["good"], web.Hosts.Select(h => h.Id));
        var problem = Assert.Single(state.Snapshot.Problems);
        Assert.Equal("/services/web/hosts/bad", problem.Key);
        Assert.Contains("host skipped", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("-1")]
    [InlineData("eighty")]
    public void Load_BadHostPort_IgnoresHostPortKeepsService(string value)
    {
        var state = Loaded(Kv("web/scheme", "http"), Kv("web/host_port", value), Kv("web/hosts/1", "10.0.0.1:80"));

        var web = state.Snapshot.Services["web"];
        Assert.Null(web.HostPort);
        Assert.Single(web.Hosts);
        Assert.Contains(state.Snapshot.Problems, p => p.Key == "/services/web/host_port");
    }

    [Fact]
    public void Load_TcpWithoutHostPort_SkippedAndReported()
    {
        var state = Loaded(Kv("db/scheme", "tcp"), Kv("db/hosts/1", "10.0.0.1:5432"), Kv("bad/scheme", "tcp"), Kv("bad/host_port", "x"), Kv("web/scheme", "http"));

        Assert.Equal(["web"], state.Snapshot.Services.Keys);
        Assert.Contains(state.Snapshot.Problems, p => p.Service == "db" && p.Key == "/services/db/host_port" && p.Message.Contains("not reachable; service skipped", StringComparison.Ordinal));
        Assert.Contains(state.Snapshot.Problems, p => p.Service == "bad" && p.Message.Contains("not reachable; service skipped", StringComparison.Ordinal));
    }

    [Fact]
    public void Apply_TcpGetsHostPortLater_AddedThen()
    {
        var state = Loaded(Kv("db/scheme", "tcp"), Kv("db/hosts/1", "10.0.0.1:5432"));

        var change = state.Apply([Put(Kv("db/host_port", "7000"))], _revision);

        Assert.Equal("db", Assert.Single(change.Added));
        Assert.Equal("db", state.Snapshot.HostPorts[7000]);
        Assert.Empty(state.Snapshot.Problems);
    }

    [Fact]
    public void Load_HostPortIsReservedPort_ProblemAndNotInHostPorts()
    {
        var state = new RegistryState(new RegistryLayout { ReservedPorts = new Dictionary<int, string> { [9090] = "--admin" } });
        state.Load([Kv("db/scheme", "tcp"), Kv("db/host_port", "9090"), Kv("web/scheme", "http"), Kv("web/host_port", "9091")], _revision);

        // Still a service (its hosts may be reached some other way later), but no listener or SRV record may advertise the port.
        Assert.True(state.Snapshot.Services.ContainsKey("db"));
        Assert.False(state.Snapshot.HostPorts.ContainsKey(9090));
        Assert.Equal("web", state.Snapshot.HostPorts[9091]);
        var problem = Assert.Single(state.Snapshot.Problems);
        Assert.Equal(("db", "/services/db/host_port", "host_port 9090 is the router's own port (--admin); not served"), (problem.Service, problem.Key, problem.Message));
    }

    [Fact]
    public void Load_InvalidUtf8Value_SkipsKey()
    {
        var state = Loaded(Kv("web/scheme", "http"), Kv("web/hosts/1", [0xff, 0xfe, 0x31]), Kv("web/hosts/2", "10.0.0.2:80"));

        Assert.Equal(["2"], state.Snapshot.Services["web"].Hosts.Select(h => h.Id));
        Assert.Contains(state.Snapshot.Problems, p => p.Key == "/services/web/hosts/1" && p.Message.Contains("not UTF-8", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_ControlCharacters_SkipsKey()
    {
        var state = Loaded(Kv("web/scheme", "http"), Kv("web/hosts/1", "10.0.0.1:\u000780"));

        Assert.Empty(state.Snapshot.Services["web"].Hosts);
        Assert.Contains(state.Snapshot.Problems, p => p.Message.Contains("control characters", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_HugeValue_SkipsKeyAndReportsSize()
    {
        var huge = new string('1', 1_000_000);
        var state = Loaded(Kv("web/scheme", "http"), Kv("web/hosts/1", huge), Kv("other/scheme", huge));

        Assert.Empty(state.Snapshot.Services["web"].Hosts);
        Assert.False(state.Snapshot.Services.ContainsKey("other"));
        Assert.All(state.Snapshot.Problems, p => Assert.True(p.Message.Length < 300, "a problem message must not carry the huge value"));
        Assert.Contains(state.Snapshot.Problems, p => p.Message.Contains("1000000 bytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_PrivateAndStripPath_Read()
    {
        var state = Loaded(Kv("web/scheme", "http"), Kv("web/private", ""), Kv("web/strip_path", "TRUE"), Kv("api/scheme", "http"), Kv("api/strip_path", "maybe"));

        Assert.True(state.Snapshot.Services["web"].Private);
        Assert.True(state.Snapshot.Services["web"].StripPath);
        Assert.False(state.Snapshot.Services["api"].StripPath);
        Assert.Contains(state.Snapshot.Problems, p => p.Key == "/services/api/strip_path");
    }

    [Fact]
    public void Load_TwoServicesClaimOnePort_OlderKeyKeepsIt()
    {
        // "b" writes its host_port first, so it wins although "a" sorts first by name.
        var state = Loaded(Kv("b/scheme", "tcp"), Kv("b/host_port", "7000"), Kv("a/scheme", "tcp"), Kv("a/host_port", "7000"));

        Assert.Equal("b", state.Snapshot.HostPorts[7000]);
        var problem = Assert.Single(state.Snapshot.Problems);
        Assert.Equal("a", problem.Service);
        Assert.Contains("already claimed by service 'b'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_OneHostAdded_ChangesOnlyThatService()
    {
        var state = Loaded(Kv("web/scheme", "http"), Kv("api/scheme", "http"));
        var api = state.Snapshot.Services["api"];

        var change = state.Apply([Put(Kv("web/hosts/1", "10.0.0.1:80"))], 20);

        Assert.Equal("web", Assert.Single(change.Changed));
        Assert.Empty(change.Added);
        Assert.Single(state.Snapshot.Services["web"].Hosts);
        Assert.Same(api, state.Snapshot.Services["api"]);
        Assert.Equal(20, state.Snapshot.Revision);
    }

    [Fact]
    public void Apply_SchemeDeleted_RemovesServiceAndReportsIt()
    {
        var scheme = Kv("web/scheme", "http");
        var state = Loaded(scheme, Kv("web/hosts/1", "10.0.0.1:80"));

        var change = state.Apply([new RegistryEvent(IsDelete: true, scheme)], 30);

        Assert.Equal("web", Assert.Single(change.Removed));
        Assert.Empty(state.Snapshot.Services);
        Assert.Contains(state.Snapshot.Problems, p => p.Service == "web");
    }

    [Fact]
    public void Apply_BadValueThenFixed_ProblemGoes()
    {
        var state = Loaded(Kv("web/scheme", "http"));
        state.Apply([Put(Kv("web/hosts/1", "nonsense"))], 11);
        Assert.NotEmpty(state.Snapshot.Problems);

        state.Apply([Put(Kv("web/hosts/1", "10.0.0.1:80"))], 12);

        Assert.Empty(state.Snapshot.Problems);
        Assert.Single(state.Snapshot.Services["web"].Hosts);
    }

    [Fact]
    public void Apply_HostPortWinnerRemoved_LoserTakesPort()
    {
        var winner = Kv("b/host_port", "7000");
        var state = Loaded(Kv("b/scheme", "tcp"), winner, Kv("a/scheme", "tcp"), Kv("a/host_port", "7000"));

        state.Apply([new RegistryEvent(IsDelete: true, winner)], 50);

        Assert.Equal("a", state.Snapshot.HostPorts[7000]);
    }

    [Fact]
    public void Apply_HostPortReleasedByOneService_AnotherClaimsIt()
    {
        var state = Loaded(Kv("a/scheme", "tcp"), Kv("a/host_port", "7000"), Kv("b/scheme", "http"));

        state.Apply([Put(Kv("a/host_port", "7001")), Put(Kv("b/host_port", "7000"))], _revision);

        Assert.Equal(("a", "b"), (state.Snapshot.HostPorts[7001], state.Snapshot.HostPorts[7000]));
        Assert.Empty(state.Snapshot.Problems);
    }

    /// <summary>
    /// host_port claims are settled from the services a change touched plus the claims kept from before: after any
    /// run of changes they must be what a full read of the same keys gives. Random puts and deletes over a few
    /// services and ports, a seeded run so a failure repeats.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Apply_RandomChanges_HostPortsAsAFullReadGivesThem(int seed)
    {
        var layout = new RegistryLayout { ReservedPorts = new Dictionary<int, string> { [7003] = "--admin" } };
        var random = new Random(seed);
        var names = new[] { "a", "b", "C", "c", "d" };
        var current = new Dictionary<string, RegistryKeyValue>(StringComparer.Ordinal);
        var state = new RegistryState(layout);
        state.Load([], 1);
        for (var step = 0; step < 400; step++)
        {
            var events = new List<RegistryEvent>();
            for (var n = random.Next(1, 4); n > 0; n--)
            {
                var key = P + names[random.Next(names.Length)] + random.Next(4) switch
                {
                    0 => "/scheme",
                    1 => "/hosts/1",
                    _ => "/host_port",
                };
                if (random.Next(4) == 0)
                {
                    if (current.Remove(key, out var gone))
                    {
                        events.Add(new RegistryEvent(IsDelete: true, gone));
                    }

                    continue;
                }

                _revision++;
                var value = key.EndsWith("/scheme", StringComparison.Ordinal) ? (random.Next(2) == 0 ? "tcp" : "http")
                    : key.EndsWith("/hosts/1", StringComparison.Ordinal) ? "10.0.0.1:80"
                    : random.Next(10) == 0 ? "nonsense" : (7000 + random.Next(4)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var created = current.TryGetValue(key, out var was) ? was.CreateRevision : _revision;
                current[key] = new RegistryKeyValue(key, Encoding.UTF8.GetBytes(value), created, _revision);
                events.Add(Put(current[key]));
            }

            state.Apply(events, ++_revision);

            var full = new RegistryState(layout);
            full.Load(current.Values, _revision);
            Assert.Equal(full.Snapshot.HostPorts, state.Snapshot.HostPorts);
            Assert.Equal(full.Snapshot.Problems.Select(p => (p.Service, p.Key, p.Message)).Order(), state.Snapshot.Problems.Select(p => (p.Service, p.Key, p.Message)).Order());
            Assert.Equal(full.Snapshot.Services.Keys.Order(StringComparer.Ordinal), state.Snapshot.Services.Keys.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void Load_NamesDifferOnlyInCase_OneService()
    {
        var state = Loaded(Kv("Web/scheme", "http"), Kv("web/hosts/1", "10.0.0.1:80"));

        var web = Assert.Single(state.Snapshot.Services).Value;
        Assert.Equal("web", web.Name);
        Assert.Single(web.Hosts);
    }

    [Fact]
    public void Load_KeysOutsidePrefixOrFolderMarkers_Ignored()
    {
        var state = new RegistryState(new RegistryLayout());
        state.Load([new RegistryKeyValue("/services/web", "x"u8.ToArray(), 1, 1), new RegistryKeyValue("/other/web/scheme", "http"u8.ToArray(), 2, 2)], 3);

        Assert.Empty(state.Snapshot.Services);
        Assert.Empty(state.Snapshot.Problems);
    }

    private RegistryState Loaded(params RegistryKeyValue[] keys)
    {
        var state = new RegistryState(new RegistryLayout());
        state.Load(keys, _revision);
        return state;
    }

    private RegistryKeyValue Kv(string key, string value) => Kv(key, Encoding.UTF8.GetBytes(value));

    private RegistryKeyValue Kv(string key, byte[] value)
    {
        _revision++;
        return new RegistryKeyValue(P + key, value, _revision, _revision);
    }

    private static RegistryEvent Put(RegistryKeyValue kv) => new(IsDelete: false, kv);
}
