using Router.Cli;
using Router.Rollout;

namespace Router.Tests.Rollout;

public sealed class RolloutCommandLineTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Parse_Defaults_AsDocumented()
    {
        var options = Parse("web", "--to", "v2").Options!;

        Assert.Equal(("web", "v2", RolloutAction.Start, 1), (options.Service, options.To, options.Action, options.Surge));
        Assert.Equal((10, 300, 5), ((int)options.MinHealthy.TotalSeconds, (int)options.Deadline.TotalSeconds, (int)options.Drain.TotalSeconds));
        Assert.Equal(("/services", "/rollouts", 15), (options.Prefix, options.RolloutPrefix, options.LockTtlSeconds));
        Assert.Equal("127.0.0.1:9090", Assert.Single(options.RouterAdmins).ToString());
        Assert.Equal("http://127.0.0.1:2379/", Assert.Single(options.Etcd.Endpoints).ToString());
    }

    [Fact]
    public void Parse_EveryOption_IsRead()
    {
        var folder = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(folder, "unit.json"), "{}");

        var options = Parse("Web", "--image", "nginx:2", "--surge=0", "--min-healthy", "1.5", "--deadline", "60", "--drain", "2", "--lock-ttl", "5",
            "--processes", folder, "--router-admin", "127.0.0.1:9091,127.0.0.2:9090", "--json", "--etcd", "http://127.0.0.1:3379",
            "--prefix", "/s", "--rollout-prefix", "/r").Options!;

        Assert.Equal(("web", "nginx:2", 0, 1.5, 60.0, 2.0, 5), (options.Service, options.To, options.Surge, options.MinHealthy.TotalSeconds, options.Deadline.TotalSeconds, options.Drain.TotalSeconds, options.LockTtlSeconds));
        Assert.Equal((folder, true, "/s", "/r", 2), (options.Processes, options.Json, options.Prefix, options.RolloutPrefix, options.RouterAdmins.Count));
    }

    [Theory]
    [InlineData("--resume", "Resume")]
    [InlineData("--undo", "Undo")]
    [InlineData("--status", "Status")]
    public void Parse_Action_NeedsNoVersion(string flag, string action)
    {
        var result = Parse("web", flag);

        Assert.Empty(result.Errors);
        Assert.Equal(action, result.Options!.Action.ToString());
    }

    [Theory]
    [InlineData("'--to' missing", "NAME: the service to roll out is missing", "--to", "v2")]
    [InlineData("bad name", "NAME: 'web_1' is not a service name", "web_1", "--to", "v2")]
    [InlineData("no version", "--to: the version to roll out is missing", "web")]
    [InlineData("two actions", "--undo: cannot be combined with --resume", "web", "--resume", "--undo")]
    [InlineData("version and resume", "--to: not with --resume", "web", "--resume", "--to", "v2")]
    [InlineData("to and image", "--image: give --to or --image, not both", "web", "--to", "v2", "--image", "i:2")]
    [InlineData("surge", "--surge: 'x' is not a number from 0 to 100", "web", "--to", "v2", "--surge", "x")]
    [InlineData("negative", "--min-healthy: '-1' is not a number of seconds from 0 to 3600", "web", "--to", "v2", "--min-healthy", "-1")]
    [InlineData("deadline zero", "--deadline: '0' is not a number of seconds from 1 to 86400", "web", "--to", "v2", "--deadline", "0")]
    [InlineData("drain", "--drain: 'soon' is not a number of seconds from 0 to 3600", "web", "--to", "v2", "--drain", "soon")]
    [InlineData("lock ttl", "--lock-ttl: '1' is not a number from 2 to 3600", "web", "--to", "v2", "--lock-ttl", "1")]
    [InlineData("fleet", "--fleet: 'fleet.sock' is not unix:/PATH or an http URL", "web", "--to", "v2", "--fleet", "fleet.sock")]
    [InlineData("processes", "--processes: '/nonexistent' has no unit.json", "web", "--to", "v2", "--processes", "/nonexistent")]
    [InlineData("router admin", "--router-admin: 'localhost' is not ADDR:PORT", "web", "--to", "v2", "--router-admin", "localhost")]
    [InlineData("etcd", "--etcd: 'ftp://x:1' is not an etcd URL", "web", "--to", "v2", "--etcd", "ftp://x:1")]
    [InlineData("prefix", "--prefix: 'services' is not a key prefix", "web", "--to", "v2", "--prefix", "services")]
    [InlineData("record in registry", "--rollout-prefix: '/services/r' is inside the registry prefix", "web", "--to", "v2", "--rollout-prefix", "/services/r")]
    [InlineData("unknown", "--bogus: unknown option", "web", "--to", "v2", "--bogus", "1")]
    [InlineData("no value", "--surge: needs a value", "web", "--to", "v2", "--surge")]
    [InlineData("switch with a value not true or false", "--json: 'maybe' is not true or false", "web", "--to", "v2", "--json=maybe")]
    [InlineData("value starting with --", "--to: needs a value", "web", "--to", "--json")]
    [InlineData("exponent", "--drain: '1e3' is not a number of seconds from 0 to 3600", "web", "--to", "v2", "--drain", "1e3")]
    [InlineData("NaN", "--min-healthy: 'NaN' is not a number of seconds", "web", "--to", "v2", "--min-healthy", "NaN")]
    [InlineData("empty segment", "--prefix: '/a//b' is not a key prefix like /services (must not hold an empty segment", "web", "--to", "v2", "--prefix", "/a//b")]
    [InlineData("control character", "--rollout-prefix: '/r?x' is not a key prefix", "web", "--to", "v2", "--rollout-prefix", "/r\u0001x")]
    [InlineData("password", "--etcd-password: not accepted on the command line", "web", "--to", "v2", "--etcd-password", "x")]
    [InlineData("two names", "'api': unexpected argument", "web", "api", "--to", "v2")]
    public void Parse_BadInput_OneLineNamingTheOption(string why, string expected, params string[] args)
    {
        var result = Parse(args);

        Assert.True(result.Options is null, why);
        Assert.Contains(result.Errors, e => e.StartsWith(expected, StringComparison.Ordinal));
        Assert.All(result.Errors, e => Assert.DoesNotContain('\n', e));
    }

    [Fact]
    public void Parse_SeveralProblems_EveryOneReported()
    {
        var result = Parse("web", "--to", "v2", "--surge", "-1", "--deadline", "never", "--fleet", "x");

        Assert.Equal(3, result.Errors.Count);
    }

    [Fact]
    public void Parse_EtcdFromEnvironment_AsTheRouterReadsIt()
    {
        var result = RolloutCommandLine.Parse(["web", "--status"], new Dictionary<string, string?> { ["ROUTER_ETCD"] = "http://127.0.0.1:4001", ["ROUTER_PREFIX"] = "/x" });

        Assert.Equal("http://127.0.0.1:4001/", Assert.Single(result.Options!.Etcd.Endpoints).ToString());
        Assert.Equal("/x", result.Options.Prefix);
    }

    [Fact]
    public void Parse_EmptyEnvironmentVariable_CountsAsUnset()
    {
        var result = RolloutCommandLine.Parse(["web", "--status"], new Dictionary<string, string?> { ["ROUTER_ETCD"] = "", ["ROUTER_PREFIX"] = " " });

        Assert.Equal("http://127.0.0.1:2379/", Assert.Single(result.Options!.Etcd.Endpoints).ToString());
        Assert.Equal("/services", result.Options.Prefix);
    }

    [Fact]
    public void Parse_OptionTwice_TheLaterWins()
    {
        Assert.Equal(2, Parse("web", "--to", "v2", "--surge", "1", "--surge", "2").Options!.Surge);
    }

    [Fact]
    public void Parse_SwitchWithFalse_IsOff()
    {
        Assert.False(Parse("web", "--to", "v2", "--json=false").Options!.Json);
    }

    [Fact]
    public void Usage_ListsEveryOptionTheParserReads()
    {
        Assert.True(Parse("--help").Help);
        foreach (var option in new[] { "--to", "--image", "--resume", "--undo", "--status", "--surge", "--min-healthy", "--deadline", "--drain", "--lock-ttl", "--fleet", "--processes", "--router-admin", "--json", "--etcd", "--prefix", "--rollout-prefix", "--etcd-ca", "--etcd-cert", "--etcd-key", "--etcd-user", "--etcd-password-file", "--help" })
        {
            Assert.Contains(option + " ", RolloutCommandLine.Usage, StringComparison.Ordinal);
        }

        // Each default shown is the parser's default.
        Assert.Contains("[1]", RolloutCommandLine.Usage, StringComparison.Ordinal);
        Assert.Contains("[10]", RolloutCommandLine.Usage, StringComparison.Ordinal);
        Assert.Contains("[300]", RolloutCommandLine.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_BadOption_Exits2WithOneLinePerProblem()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await RolloutCommand.RunAsync(["web", "--to", "v2", "--bogus", "--surge", "x"], NoEnvironment, output, error, terminal: false);

        Assert.Equal(2, code);
        Assert.Equal(["router rollout: --bogus: unknown option (see router rollout --help)", "router rollout: --surge: 'x' is not a number from 0 to 100"], error.ToString().Trim().Split(Environment.NewLine));
        Assert.Empty(output.ToString());
    }

    private static RolloutCommandLine.Result Parse(params string[] args) => RolloutCommandLine.Parse(args, NoEnvironment);
}
