using System.Net;
using Microsoft.Extensions.Configuration;
using Router.Hosting;

namespace Router.Tests;

public sealed class RouterCommandLineTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Parse_Nothing_DesignDefaults()
    {
        var options = Parse([]).Options!;

        Assert.Equal(["http://127.0.0.1:2379/"], options.Etcd.Endpoints.Select(e => e.ToString()));
        Assert.Equal("/services", options.Prefix);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 80), options.Http);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9090), options.Admin);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("172.17.42.1"), 53), options.Dns);
        Assert.Equal(IPAddress.Any, options.TcpBind);
        Assert.Equal("local", options.DnsZone);
        Assert.Equal(2, options.DnsUpstream.Count);
        Assert.True(options.DirectForwarding);
        Assert.True(options.ConnectionLevel);
        Assert.Equal(TimeSpan.FromSeconds(100), options.BackendTimeout);
    }

    [Fact]
    public void Parse_AllOptions_Read()
    {
        var options = Parse([
            "--etcd", "http://10.0.0.1:2379,https://10.0.0.2:2379", "--prefix", "/svc/", "--http", "127.0.0.1:8080",
            "--admin", "127.0.0.1:9191", "--tcp-bind", "127.0.0.2", "--dns", "off", "--dns-zone", "Cluster.",
            "--dns-answer", "10.1.1.1", "--dns-upstream", "127.0.0.1:5353,127.0.0.2", "--internal-networks", "10.0.0.0/8,192.168.0.0/16",
            "--drain-timeout=2.5",
        ]).Options!;

        Assert.Equal(2, options.Etcd.Endpoints.Count);
        Assert.Equal("/svc", options.Prefix);
        Assert.Equal(8080, options.Http.Port);
        Assert.Equal(9191, options.Admin.Port);
        Assert.Equal(IPAddress.Parse("127.0.0.2"), options.TcpBind);
        Assert.Null(options.Dns);
        Assert.Equal("cluster", options.DnsZone);
        Assert.Equal(IPAddress.Parse("10.1.1.1"), options.DnsAnswer);
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 5353), new IPEndPoint(IPAddress.Parse("127.0.0.2"), 53)], options.DnsUpstream);
        Assert.Equal(2, options.InternalNetworks.Count);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.DrainTimeout);
    }

    [Theory]
    [InlineData("--http", "80", "--http")]
    [InlineData("--http", "0.0.0.0:99999", "--http")]
    [InlineData("--admin", "localhost:9090", "--admin")]
    [InlineData("--etcd", "ftp://x:1", "--etcd")]
    [InlineData("--etcd", "http://10.0.0.1", "--etcd")]
    [InlineData("--prefix", "services", "--prefix")]
    [InlineData("--dns", "172.17.42.1", "--dns")]
    [InlineData("--dns-zone", "bad_zone", "--dns-zone")]
    [InlineData("--dns-answer", "nope", "--dns-answer")]
    [InlineData("--dns-upstream", "8.8.8.8:0", "--dns-upstream")]
    [InlineData("--internal-networks", "10.0.0.0/33", "--internal-networks")]
    [InlineData("--drain-timeout", "-1", "--drain-timeout")]
    [InlineData("--tcp-bind", "any", "--tcp-bind")]
    [InlineData("--etcd-ca", "/does/not/exist.pem", "--etcd-ca")]
    [InlineData("--https", "0.0.0.0:443", "--https")]
    [InlineData("--shutdown-delay", "-1", "--shutdown-delay")]
    [InlineData("--tcp-idle-timeout", "0", "--tcp-idle-timeout")]
    [InlineData("--tcp-idle-timeout", "soon", "--tcp-idle-timeout")]
    [InlineData("--tcp-max-connections", "0", "--tcp-max-connections")]
    [InlineData("--tcp-max-connections", "-3", "--tcp-max-connections")]
    [InlineData("--state-file", "/does/not/exist/registry.json", "--state-file")]
    [InlineData("--certs", "/does/not/exist", "--certs")]
    [InlineData("--etcd-password-file", "/does/not/exist", "--etcd-password-file")]
    [InlineData("--http-forwarder", "fast", "--http-forwarder")]
    [InlineData("--tcp-relay", "io_uring", "--tcp-relay")]
    [InlineData("--http-transport", "libuv", "--http-transport")]
    [InlineData("--backend-timeout", "0", "--backend-timeout")]
    [InlineData("--backend-timeout", "long", "--backend-timeout")]
    [InlineData("--max-http-connections", "0", "--max-http-connections")]
    [InlineData("--max-http-connections", "many", "--max-http-connections")]
    [InlineData("--client-idle-timeout", "0", "--client-idle-timeout")]
    [InlineData("--client-idle-timeout", "never", "--client-idle-timeout")]
    [InlineData("--request-head-timeout", "0.5", "--request-head-timeout")]
    [InlineData("--request-head-timeout", "3601", "--request-head-timeout")]
    [InlineData("--max-request-body", "0", "--max-request-body")]
    [InlineData("--max-request-body", "10MB", "--max-request-body")]
    [InlineData("--max-request-body", "-1", "--max-request-body")]
    [InlineData("--return-memory", "0", "--return-memory")]
    [InlineData("--return-memory", "16MB", "--return-memory")]
    [InlineData("--log-level", "loud", "--log-level")]
    [InlineData("--access-log", "/does/not/exist/access.log", "--access-log")]
    [InlineData("--access-log", " ", "--access-log")]
    [InlineData("--access-log-sample", "0", "--access-log-sample")]
    [InlineData("--access-log-sample", "0.5", "--access-log-sample")]
    public void Parse_BadValue_OneErrorNamingTheOption(string option, string value, string named)
    {
        var result = Parse([option, value]);

        Assert.Null(result.Options);
        var error = Assert.Single(result.Errors);
        Assert.StartsWith(named + ":", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CertWithoutKey_Reported()
    {
        var cert = Path.GetTempFileName();
        try
        {
            Assert.Contains(Parse(["--etcd-cert", cert]).Errors, e => e.StartsWith("--etcd-cert: needs --etcd-key", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(cert);
        }
    }

    [Fact]
    public void Parse_TcpLimitsAndStateFile_Read()
    {
        var options = Parse(["--tcp-idle-timeout", "30", "--tcp-max-connections", "5", "--state-file", Path.Combine(Path.GetTempPath(), "r.json")]).Options!;

        Assert.Equal(TimeSpan.FromSeconds(30), options.TcpIdleTimeout);
        Assert.Equal(5, options.TcpMaxConnections);
        Assert.EndsWith("r.json", options.StateFile, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HttpLimits_DefaultsAsDocumented()
    {
        var options = Parse([]).Options!;

        // nginx keepalive_timeout 75 s (above cloud balancers' 60 s idle); Kestrel's 30 s head timeout,
        // between HAProxy's usual 10 s and nginx's 60 s; no body limit; connections from the open-file limit.
        Assert.Equal(TimeSpan.FromSeconds(75), options.ClientIdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.RequestHeadTimeout);
        Assert.Null(options.MaxRequestBodySize);
        Assert.Null(options.MaxHttpConnections);
    }

    [Fact]
    public void Parse_HttpLimits_Read()
    {
        var options = Parse(["--client-idle-timeout", "10", "--request-head-timeout=2.5", "--max-http-connections", "500", "--max-request-body", "1048576"]).Options!;

        Assert.Equal(TimeSpan.FromSeconds(10), options.ClientIdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.RequestHeadTimeout);
        Assert.Equal(500, options.MaxHttpConnections);
        Assert.Equal(1_048_576, options.MaxRequestBodySize);
    }

    [Fact]
    public void Parse_ReturnMemory_DefaultReadAndOff()
    {
        Assert.Equal(16L * 1024 * 1024, Parse([]).Options!.ReturnMemoryThreshold);
        Assert.Equal(64L * 1024 * 1024, Parse(["--return-memory", "64"]).Options!.ReturnMemoryThreshold);
        Assert.Null(Parse(["--return-memory", "off"]).Options!.ReturnMemoryThreshold);
        Assert.Null(RouterCommandLine.Parse([], new Dictionary<string, string?> { ["ROUTER_RETURN_MEMORY"] = "Off" }, null).Options!.ReturnMemoryThreshold);
    }

    [Fact]
    public void Parse_MaxRequestBodyOff_NoLimit()
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Router:MaxRequestBody"] = "1000" }).Build();

        var result = RouterCommandLine.Parse(["--max-request-body", "OFF"], NoEnvironment, settings);

        Assert.Null(result.Options!.MaxRequestBodySize);
    }

    [Fact]
    public void Parse_HttpLimitsFromEnvironment_Read()
    {
        var environment = new Dictionary<string, string?> { ["ROUTER_CLIENT_IDLE_TIMEOUT"] = "5", ["ROUTER_MAX_HTTP_CONNECTIONS"] = "7" };

        var options = RouterCommandLine.Parse([], environment, null).Options!;

        Assert.Equal(TimeSpan.FromSeconds(5), options.ClientIdleTimeout);
        Assert.Equal(7, options.MaxHttpConnections);
    }

    [Theory]
    [InlineData("yarp", false, false)]
    [InlineData("YARP", false, false)]
    [InlineData("direct", true, true)]
    [InlineData("kestrel", true, false)]
    public void Parse_HttpForwarder_Read(string value, bool direct, bool connectionLevel)
    {
        var options = Parse(["--http-forwarder", value]).Options!;
        Assert.Equal((direct, connectionLevel), (options.DirectForwarding, options.ConnectionLevel));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("epoll", true)]
    [InlineData("Sockets", false)]
    public void Parse_TcpRelay_Read(string? value, bool onLoops) =>
        Assert.Equal(onLoops, Parse(value is null ? [] : ["--tcp-relay", value]).Options!.TcpRelayOnLoops);

    [Theory]
    [InlineData(null, true)]
    [InlineData("epoll", true)]
    [InlineData(" EPOLL ", true)]
    [InlineData("sockets", false)]
    public void Parse_HttpTransport_Read(string? value, bool onLoops) =>
        Assert.Equal(onLoops, Parse(value is null ? [] : ["--http-transport", value]).Options!.HttpOnLoops);

    [Theory]
    [InlineData(null, Serilog.Events.LogEventLevel.Information)]
    [InlineData("debug", Serilog.Events.LogEventLevel.Debug)]
    [InlineData("WARN", Serilog.Events.LogEventLevel.Warning)]
    [InlineData("error", Serilog.Events.LogEventLevel.Error)]
    public void Parse_LogLevel_Read(string? value, Serilog.Events.LogEventLevel expected) =>
        Assert.Equal(expected, Parse(value is null ? [] : ["--log-level", value]).Options!.LogLevel);

    [Theory]
    [InlineData("off", null)]
    [InlineData("stdout", "stdout")]
    public void Parse_AccessLog_Read(string value, string? expected) =>
        Assert.Equal(expected, Parse(["--access-log", value, "--access-log-sample", "10"]).Options!.AccessLog);

    [Fact]
    public void Parse_AccessLogDefault_OffEveryRequest()
    {
        var options = Parse([]).Options!;

        Assert.Null(options.AccessLog);
        Assert.Equal(1, options.AccessLogSample);
    }

    [Fact]
    public void Parse_UnknownOptionAndMissingValue_Reported()
    {
        var result = Parse(["--bogus", "1", "--http"]);

        Assert.Contains(result.Errors, e => e.StartsWith("--bogus", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("--http: needs a value", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_PasswordOnCommandLine_Refused()
    {
        var error = Assert.Single(Parse(["--etcd-password", "secret"]).Errors);

        Assert.Contains("ROUTER_ETCD_PASSWORD", error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UserWithoutPassword_Reported()
    {
        Assert.Contains(Parse(["--etcd-user", "router"]).Errors, e => e.StartsWith("--etcd-user", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_UserWithPasswordFromEnvironment_Read()
    {
        var options = RouterCommandLine.Parse(["--etcd-user", "router"], new Dictionary<string, string?> { ["ROUTER_ETCD_PASSWORD"] = "pw" }, null).Options!;

        Assert.Equal("router", options.Etcd.User);
        Assert.Equal("pw", options.Etcd.Password);
    }

    [Fact]
    public void Parse_SamePortForHttpAndAdmin_Reported()
    {
        Assert.Contains(Parse(["--http", "127.0.0.1:9000", "--admin", "127.0.0.1:9000"]).Errors, e => e.StartsWith("--admin", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_Precedence_CommandLineOverEnvironmentOverSettings()
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Router:Prefix"] = "/from-settings",
            ["Router:DnsZone"] = "settings",
            ["Router:DrainTimeout"] = "7",
        }).Build();
        var environment = new Dictionary<string, string?> { ["ROUTER_PREFIX"] = "/from-env", ["ROUTER_DNS_ZONE"] = "env" };

        var options = RouterCommandLine.Parse(["--prefix", "/from-args"], environment, settings).Options!;

        Assert.Equal("/from-args", options.Prefix);
        Assert.Equal("env", options.DnsZone);
        Assert.Equal(TimeSpan.FromSeconds(7), options.DrainTimeout);
    }

    [Fact]
    public void Parse_BadEnvironmentValue_NamesTheVariable()
    {
        var error = Assert.Single(RouterCommandLine.Parse([], new Dictionary<string, string?> { ["ROUTER_HTTP"] = "nope" }, null).Errors);

        Assert.StartsWith("--http (from ROUTER_HTTP): 'nope'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadSettingsValue_NamesTheKey()
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Router:DrainTimeout"] = "x" }).Build();

        var error = Assert.Single(RouterCommandLine.Parse([], NoEnvironment, settings).Errors);

        Assert.StartsWith("--drain-timeout (from Router:DrainTimeout in appsettings.json): 'x'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_OptionTwice_TheLaterWins()
    {
        var options = Parse(["--http", "127.0.0.1:8080", "--admin", "127.0.0.1:9191", "--http=127.0.0.1:8081"]).Options!;

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8081), options.Http);
    }

    [Fact]
    public void Parse_ValueStartingWithDashes_IsAMissingValue()
    {
        // --http does not swallow --admin: it is the next option, read as usual.
        var result = Parse(["--http", "--admin", "127.0.0.1:9191"]);

        Assert.Equal(["--http: needs a value"], result.Errors);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Parse_EmptyEnvironmentVariableOrSetting_CountsAsUnset(string empty)
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Router:Admin"] = empty, ["Router:DrainTimeout"] = "7" }).Build();
        var environment = new Dictionary<string, string?> { ["ROUTER_HTTP"] = empty, ["ROUTER_DRAIN_TIMEOUT"] = empty };

        var options = RouterCommandLine.Parse([], environment, settings).Options!;

        Assert.Equal(new IPEndPoint(IPAddress.Any, 80), options.Http);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9090), options.Admin);
        Assert.Equal(TimeSpan.FromSeconds(7), options.DrainTimeout);
    }

    [Theory]
    [InlineData("--drain-timeout", "1e3")]
    [InlineData("--drain-timeout", "NaN")]
    [InlineData("--backend-timeout", "Infinity")]
    [InlineData("--client-idle-timeout", "+10")]
    [InlineData("--request-head-timeout", "1,5")]
    [InlineData("--tcp-idle-timeout", "0x10")]
    [InlineData("--shutdown-delay", " 1")]
    public void Parse_SecondsNotAPlainDecimal_Refused(string option, string value)
    {
        var error = Assert.Single(Parse([option, value]).Errors);

        Assert.StartsWith($"{option}: '{value}' is not a number of seconds from ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EtcdKeyWithoutCertAndPasswordFileWithoutUser_Reported()
    {
        var file = Path.GetTempFileName();
        try
        {
            Assert.Equal(["--etcd-key: needs --etcd-cert", "--etcd-password-file: needs --etcd-user"], Parse(["--etcd-key", file, "--etcd-password-file", file]).Errors);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Parse_Help_AsksForHelp() => Assert.True(Parse(["--help"]).Help);

    [Theory]
    [InlineData("/services/")]
    [InlineData("/a//b")]
    [InlineData("/a b")]
    [InlineData("relative")]
    [InlineData("/team-1/services")]
    public void Parse_Prefix_AcceptedExactlyWhenTheRegistryRuleAccepts(string prefix)
    {
        var result = Parse(["--prefix", prefix]);

        Assert.Equal(Router.Registry.RegistryLayout.TryNormalizePrefix(prefix, out var normalized, out _), result.Options is not null);
        if (result.Options is { } options)
        {
            Assert.Equal(normalized, options.Prefix);
        }
    }

    [Fact]
    public void OwnPorts_EveryListenerOfTheRouter()
    {
        var options = Parse(["--http", "127.0.0.1:8080", "--admin", "127.0.0.1:9091", "--dns", "127.0.0.1:5353"]).Options!;

        Assert.Equal(new Dictionary<int, string> { [8080] = "--http", [9091] = "--admin", [5353] = "--dns" }, options.OwnPorts());
    }

    [Fact]
    public void Parse_TrustedProxies_NoneByDefaultListRead()
    {
        Assert.Empty(Parse([]).Options!.TrustedProxies);

        var options = Parse(["--trusted-proxies", "130.211.0.0/22, 35.191.0.0/16,::1/128"]).Options!;

        Assert.Equal([IPNetwork.Parse("130.211.0.0/22"), IPNetwork.Parse("35.191.0.0/16"), IPNetwork.Parse("::1/128")], options.TrustedProxies);
    }

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.0/8,load-balancer")]
    public void Parse_TrustedProxiesNotNetworks_ErrorNamesOptionAndValue(string value)
    {
        var result = Parse(["--trusted-proxies", value]);

        Assert.Null(result.Options);
        var error = Assert.Single(result.Errors);
        Assert.Contains("--trusted-proxies", error, StringComparison.Ordinal);
        Assert.Contains("is not a network", error, StringComparison.Ordinal);
    }

    private static RouterCommandLine.Result Parse(string[] args) => RouterCommandLine.Parse(args, NoEnvironment, null);
}
