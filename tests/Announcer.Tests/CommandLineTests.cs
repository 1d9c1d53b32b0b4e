using Router.Announcer.Options;
using Router.Registry.Model;

namespace Router.Announcer.Tests;

public class CommandLineTests
{
    private static readonly string[] Required =
        ["--etcd", "http://127.0.0.1:2379", "--service", "web", "--instance", "1", "--address", "10.0.0.5:8080"];

    [Fact]
    public void Parse_RequiredOnly_UsesDocumentedDefaults()
    {
        var options = Valid(Required);

        Assert.Equal("web", options.Service);
        Assert.Equal("1", options.Instance);
        Assert.Equal("10.0.0.5:8080", options.Address);
        Assert.Equal(ServiceScheme.Http, options.Scheme);
        Assert.Null(options.HostPort);
        Assert.False(options.Private);
        Assert.Equal(10, options.TtlSeconds);
        Assert.Equal(HealthCheckKind.None, options.CheckKind);
        Assert.Equal(TimeSpan.FromSeconds(3), options.Interval);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Drain);
        Assert.Equal(3, options.FailuresBeforeWithdraw);
        Assert.Equal("/services", options.Prefix);
        Assert.Equal([new Uri("http://127.0.0.1:2379")], options.Etcd.Endpoints);
    }

    [Fact]
    public void Parse_EveryOption_IsRead()
    {
        var options = Valid([
            "--etcd=http://10.0.0.1:2379,http://10.0.0.2:2379", "--service", "Web-2", "--instance", "7",
            "--address", "[::1]:9000", "--scheme", "tcp", "--host-port", "5432", "--private", "--ttl", "30",
            "--check", "tcp", "--interval", "0.5", "--drain", "0", "--prefix", "/other/",
        ]);

        Assert.Equal(2, options.Etcd.Endpoints.Count);
        Assert.Equal("web-2", options.Service);
        Assert.Equal("[::1]:9000", options.Address);
        Assert.Equal("::1", options.AddressHost);
        Assert.Equal(9000, options.AddressPort);
        Assert.Equal(ServiceScheme.Tcp, options.Scheme);
        Assert.Equal(5432, options.HostPort);
        Assert.True(options.Private);
        Assert.Equal(30, options.TtlSeconds);
        Assert.Equal(HealthCheckKind.Tcp, options.CheckKind);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.Interval);
        Assert.Equal(TimeSpan.Zero, options.Drain);
        Assert.Equal("/other", options.Prefix);
    }

    [Fact]
    public void Parse_CheckUrl_IsHttpCheck()
    {
        var options = Valid([.. Required, "--check", "https://127.0.0.1:8443/health"]);

        Assert.Equal(HealthCheckKind.Http, options.CheckKind);
        Assert.Equal(new Uri("https://127.0.0.1:8443/health"), options.CheckUrl);
    }

    [Fact]
    public void Parse_Environment_SuppliesOptionsAndCommandLineWins()
    {
        var environment = new Dictionary<string, string>
        {
            ["ANNOUNCER_ETCD"] = "http://127.0.0.1:2379",
            ["ANNOUNCER_SERVICE"] = "api",
            ["ANNOUNCER_INSTANCE"] = "3",
            ["ANNOUNCER_ADDRESS"] = "10.0.0.9:80",
            ["ANNOUNCER_HOST_PORT"] = "8080",
            ["ANNOUNCER_PRIVATE"] = "true",
            ["ANNOUNCER_TTL"] = "20",
        };

        var result = CommandLine.Parse(["--service", "web"], name => environment.GetValueOrDefault(name));

        Assert.Empty(result.Errors);
        var options = Assert.IsType<AnnouncerOptions>(result.Options);
        Assert.Equal("web", options.Service);
        Assert.Equal("3", options.Instance);
        Assert.Equal(8080, options.HostPort);
        Assert.True(options.Private);
        Assert.Equal(20, options.TtlSeconds);
    }

    [Fact]
    public void Parse_BadValueFromEnvironment_NamesOptionAndVariable()
    {
        var environment = new Dictionary<string, string> { ["ANNOUNCER_SCHEME"] = "ftp" };

        var result = CommandLine.Parse(Required, name => environment.GetValueOrDefault(name));

        var error = Assert.Single(result.Errors);
        Assert.Equal("announcer: --scheme (from ANNOUNCER_SCHEME): 'ftp' is not one of http, https, http-and-https, tcp", error);
    }

    [Fact]
    public void Parse_PasswordFromEnvironment_OnlyWithUser()
    {
        var environment = new Dictionary<string, string> { ["ROUTER_ETCD_PASSWORD"] = "secret" };

        var withUser = Valid([.. Required, "--etcd-user", "announcer"], environment);
        var withoutUser = Valid(Required, environment);

        Assert.Equal("announcer", withUser.Etcd.User);
        Assert.Equal("secret", withUser.Etcd.Password);
        Assert.Null(withoutUser.Etcd.Password);
    }

    [Fact]
    public void Parse_PasswordFile_IsReadWithoutTrailingNewline()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "s3cret\n");

            var options = Valid([.. Required, "--etcd-user", "announcer", "--etcd-password-file", file]);

            Assert.Equal("s3cret", options.Etcd.Password);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Parse_Help_ShowsHelpEvenWithOtherProblems(string flag)
    {
        var result = CommandLine.Parse(["--scheme", "ftp", flag], _ => null);

        Assert.True(result.ShowHelp);
        Assert.Contains("ANNOUNCER_", CommandLine.Usage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--scheme", "ftp", "announcer: --scheme: 'ftp' is not one of http, https, http-and-https, tcp")]
    [InlineData("--service", "web_1", "announcer: --service: 'web_1' is not a DNS label")]
    [InlineData("--service", "-web", "announcer: --service: '-web' is not a DNS label")]
    [InlineData("--service", "a234567890123456789012345678901234567890123456789012345678901234", "announcer: --service:")]
    [InlineData("--address", "10.0.0.5", "announcer: --address: '10.0.0.5': no port")]
    [InlineData("--address", "10.0.0.5:0", "announcer: --address: '10.0.0.5:0': port '0'")]
    [InlineData("--address", "::1:80", "announcer: --address: '::1:80': an IPv6 address must be in brackets")]
    [InlineData("--instance", "a/b", "announcer: --instance: 'a/b' cannot be an instance id")]
    [InlineData("--instance", "a b", "announcer: --instance: 'a b' cannot be an instance id")]
    [InlineData("--ttl", "0", "announcer: --ttl: '0' is not a whole number of seconds from 1 to 3600")]
    [InlineData("--ttl", "-5", "announcer: --ttl: '-5'")]
    [InlineData("--ttl", "1.5", "announcer: --ttl: '1.5'")]
    [InlineData("--ttl", "86400", "announcer: --ttl: '86400' is not a whole number of seconds from 1 to 3600")]
    [InlineData("--interval", "0", "announcer: --interval: '0' is not a number of seconds greater than 0")]
    [InlineData("--interval", "-1", "announcer: --interval: '-1'")]
    [InlineData("--interval", "soon", "announcer: --interval: 'soon'")]
    [InlineData("--drain", "-1", "announcer: --drain: '-1' is not a number of seconds from 0")]
    [InlineData("--check", "ftp://10.0.0.5/health", "announcer: --check: 'ftp://10.0.0.5/health' is neither tcp nor an http:// or https:// URL")]
    [InlineData("--check", "/health", "announcer: --check: '/health' is neither tcp nor")]
    [InlineData("--host-port", "70000", "announcer: --host-port: '70000' is not a port from 1 to 65535")]
    [InlineData("--prefix", "services", "announcer: --prefix: 'services' is not a key prefix like /services (must start with '/'")]
    [InlineData("--prefix", "/a//b", "announcer: --prefix: '/a//b' is not a key prefix like /services (must not hold an empty segment")]
    [InlineData("--prefix", "/a b", "announcer: --prefix: '/a b' is not a key prefix like /services (must not hold spaces")]
    [InlineData("--interval", "1e3", "announcer: --interval: '1e3' is not a number of seconds greater than 0")]
    [InlineData("--interval", "NaN", "announcer: --interval: 'NaN' is not a number of seconds")]
    [InlineData("--drain", "Infinity", "announcer: --drain: 'Infinity' is not a number of seconds from 0 to 3600")]
    [InlineData("--drain", "+1", "announcer: --drain: '+1' is not a number of seconds")]
    [InlineData("--scheme", "tcp", "announcer: --scheme tcp: needs --host-port N")]
    [InlineData("--etcd", "http://127.0.0.1", "announcer: --etcd: 'http://127.0.0.1' is not an etcd URL")]
    [InlineData("--etcd", "ftp://127.0.0.1:2379", "announcer: --etcd: 'ftp://127.0.0.1:2379' is not an etcd URL")]
    [InlineData("--etcd-ca", "/nonexistent/ca.pem", "announcer: --etcd-ca: '/nonexistent/ca.pem' does not exist")]
    [InlineData("--private", "maybe", "announcer: --private: 'maybe' is not true or false")]
    public void Parse_BadValue_OneLineNamingTheOption(string option, string value, string expected)
    {
        var args = Required.ToList();
        var at = args.IndexOf(option);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([option + "=" + value]);
        }

        var result = CommandLine.Parse(args, _ => null);

        Assert.Null(result.Options);
        var error = Assert.Single(result.Errors);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--etcd")]
    [InlineData("--service")]
    [InlineData("--instance")]
    [InlineData("--address")]
    public void Parse_MissingRequired_NamesOptionAndVariable(string option)
    {
        var args = Required.ToList();
        args.RemoveRange(args.IndexOf(option), 2);

        var result = CommandLine.Parse(args, _ => null);

        var error = Assert.Single(result.Errors);
        Assert.Equal($"announcer: {option}: required (or set {CommandLine.EnvironmentName(option[2..])})", error);
    }

    [Fact]
    public void Parse_UnknownOption_IsNamedAndItsValueIsNotASecondError()
    {
        // As the router: the word after an unknown option is taken as its value (docs/reference.md, command-line rules).
        var result = CommandLine.Parse([.. Required, "--colour", "blue", "stray"], _ => null);

        Assert.Equal(
            ["announcer: --colour: unknown option (see --help)", "announcer: 'stray': unexpected argument (options start with --; see --help)"],
            result.Errors);
    }

    [Fact]
    public void Parse_ValueStartingWithDashes_IsAMissingValue()
    {
        // --ttl does not swallow --private: it is the next option.
        var result = CommandLine.Parse([.. Required, "--ttl", "--private"], _ => null);

        Assert.Equal(["announcer: --ttl: needs a value"], result.Errors);
    }

    [Fact]
    public void Parse_ValueStartingWithDashes_PassesAfterEquals()
    {
        Assert.Equal("--1", Valid(["--etcd", "http://127.0.0.1:2379", "--service", "web", "--instance=--1", "--address", "10.0.0.5:8080"]).Instance);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Parse_EmptyEnvironmentVariable_CountsAsUnset(string empty)
    {
        var environment = new Dictionary<string, string> { ["ANNOUNCER_TTL"] = empty, ["ANNOUNCER_PREFIX"] = empty };

        var options = Valid(Required, environment);

        Assert.Equal(AnnouncerOptions.DefaultTtlSeconds, options.TtlSeconds);
        Assert.Equal("/services", options.Prefix);
        Assert.Equal(
            ["announcer: --service: required (or set ANNOUNCER_SERVICE)"],
            CommandLine.Parse(["--etcd", "http://127.0.0.1:2379", "--instance", "1", "--address", "10.0.0.5:8080"], name => name == "ANNOUNCER_SERVICE" ? empty : null).Errors);
    }

    [Fact]
    public void Parse_UserWithoutPassword_IsNamed()
    {
        var result = CommandLine.Parse([.. Required, "--etcd-user", "announcer"], _ => null);

        Assert.Equal(["announcer: --etcd-user: needs a password in ROUTER_ETCD_PASSWORD or --etcd-password-file"], result.Errors);
    }

    [Fact]
    public void Parse_PasswordOnCommandLine_RefusedWithoutEchoingIt()
    {
        var error = Assert.Single(CommandLine.Parse([.. Required, "--etcd-password", "secret"], _ => null).Errors);

        Assert.StartsWith("announcer: --etcd-password: not accepted on the command line", error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_OptionWithoutValue_IsNamed()
    {
        var result = CommandLine.Parse([.. Required, "--ttl"], _ => null);

        Assert.Equal(["announcer: --ttl: needs a value"], result.Errors);
    }

    [Fact]
    public void Parse_OptionTwice_TheLaterWins()
    {
        // As the router (docs/reference.md, command-line rules): a wrapper's defaults first, overrides after.
        var options = Valid([.. Required, "--service", "api", "--ttl=5", "--ttl", "7"]);

        Assert.Equal("api", options.Service);
        Assert.Equal(7, options.TtlSeconds);
    }

    [Fact]
    public void Parse_CertWithoutKey_IsNamed()
    {
        var cert = Path.GetTempFileName();
        try
        {
            var result = CommandLine.Parse([.. Required, "--etcd-cert", cert], _ => null);

            Assert.Equal(["announcer: --etcd-cert: needs --etcd-key"], result.Errors);
        }
        finally
        {
            File.Delete(cert);
        }
    }

    [Fact]
    public void Parse_PasswordFileWithoutUser_IsNamed()
    {
        var file = Path.GetTempFileName();
        try
        {
            var result = CommandLine.Parse([.. Required, "--etcd-password-file", file], _ => null);

            Assert.Equal(["announcer: --etcd-password-file: needs --etcd-user"], result.Errors);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Parse_ManyProblems_ReportsEveryOneOnItsOwnLine()
    {
        var result = CommandLine.Parse(["--scheme", "ftp", "--service", "web_1", "--address", "nowhere", "--ttl", "0"], _ => null);

        Assert.Null(result.Options);
        Assert.Collection(
            result.Errors.Order(StringComparer.Ordinal),
            e => Assert.StartsWith("announcer: --address:", e, StringComparison.Ordinal),
            e => Assert.StartsWith("announcer: --etcd: required", e, StringComparison.Ordinal),
            e => Assert.StartsWith("announcer: --instance: required", e, StringComparison.Ordinal),
            e => Assert.StartsWith("announcer: --scheme:", e, StringComparison.Ordinal),
            e => Assert.StartsWith("announcer: --service:", e, StringComparison.Ordinal),
            e => Assert.StartsWith("announcer: --ttl:", e, StringComparison.Ordinal));
    }

    private static AnnouncerOptions Valid(IReadOnlyList<string> args, Dictionary<string, string>? environment = null)
    {
        var result = CommandLine.Parse(args, name => environment?.GetValueOrDefault(name));
        Assert.Empty(result.Errors);
        return Assert.IsType<AnnouncerOptions>(result.Options);
    }

    [Fact]
    public void Parse_TcpWithHostPort_Accepted()
    {
        var options = Valid([.. Required, "--scheme", "tcp", "--host-port", "7000"]);

        Assert.Equal(ServiceScheme.Tcp, options.Scheme);
        Assert.Equal(7000, options.HostPort);
    }

    [Fact]
    public void Parse_TcpFromEnvironmentWithoutHostPort_Refused()
    {
        var result = CommandLine.Parse(Required, name => name == "ANNOUNCER_SCHEME" ? "tcp" : null);

        Assert.Null(result.Options);
        Assert.StartsWith("announcer: --scheme tcp: needs --host-port N", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/services/")]
    [InlineData("/a//b")]
    [InlineData("/a b")]
    [InlineData("relative")]
    [InlineData("/team-1/services")]
    public void Parse_Prefix_AcceptedExactlyWhenTheRegistryRuleAccepts(string prefix)
    {
        var result = CommandLine.Parse([.. Required, "--prefix", prefix], _ => null);

        Assert.Equal(Router.Registry.RegistryLayout.TryNormalizePrefix(prefix, out var normalized, out _), result.Options is not null);
        if (result.Options is { } options)
        {
            Assert.Equal(normalized, options.Prefix);
        }
    }
}
