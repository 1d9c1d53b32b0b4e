using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>The real announcer executable's command line: exit codes and messages, no etcd needed.</summary>
public class AnnouncerProcessTests
{
    [Fact]
    public async Task Run_BadScheme_ExitsTwoWithOneLineNamingTheOption()
    {
        await using var announcer = AnnouncerRun.Start(
            ["--etcd", "http://127.0.0.1:1", "--service", "web", "--instance", "1", "--address", "127.0.0.1:80", "--scheme", "ftp"]);

        var exitCode = await announcer.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        var line = Assert.Single(announcer.Lines, l => l.Length > 0);
        Assert.Equal("announcer: --scheme: 'ftp' is not one of http, https, http-and-https, tcp", line);
    }

    [Fact]
    public async Task Run_SeveralBadOptions_ExitsTwoWithALinePerProblem()
    {
        await using var announcer = AnnouncerRun.Start(["--service", "web_1", "--address", "127.0.0.1", "--ttl", "0", "--unknown"]);

        var exitCode = await announcer.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        var lines = announcer.Lines.Where(l => l.Length > 0).ToList();
        Assert.All(lines, l => Assert.StartsWith("announcer: ", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("announcer: --service:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("announcer: --address:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("announcer: --ttl:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("announcer: --unknown:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("announcer: --etcd: required", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("announcer: --instance: required", StringComparison.Ordinal));
        Assert.Equal(6, lines.Count);
    }

    [Fact]
    public async Task Run_BadOptionFromEnvironment_ExitsTwo()
    {
        await using var announcer = AnnouncerRun.Start(
            ["--etcd", "http://127.0.0.1:1", "--service", "web", "--instance", "1", "--address", "127.0.0.1:80"],
            new Dictionary<string, string?> { ["ANNOUNCER_INTERVAL"] = "0" });

        Assert.Equal(2, await announcer.WaitForExitAsync());
        Assert.Contains("announcer: --interval (from ANNOUNCER_INTERVAL): '0'", announcer.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_Help_PrintsUsageAndExitsZero()
    {
        await using var announcer = AnnouncerRun.Start(["--help"]);

        Assert.Equal(0, await announcer.WaitForExitAsync());
        Assert.Contains("usage: announcer --etcd URLS --service NAME --instance ID --address HOST:PORT", announcer.Output, StringComparison.Ordinal);
    }
}
