using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// docs/deploy.md's commands that put HTTPS certificates into /etc/router/certs, run here with the node's
/// paths moved into a temporary folder: the router's user (1654, as in its image) reads the key, any other
/// unprivileged user does not.
/// </summary>
public sealed class HttpsCertificatesTests
{
    [Fact]
    public async Task DocCommands_User1654_ReadsKeyOthersDoNot()
    {
        var commands = DocInstallCommands();
        Assert.Equal(2, commands.Count);
        var dir = Directory.CreateTempSubdirectory("deploy-certs-");
        try
        {
            var source = Path.Combine(dir.FullName, "tmp");
            var certs = Path.Combine(dir.FullName, "certs");
            Directory.CreateDirectory(source);
            await File.WriteAllTextAsync(Path.Combine(source, "web.example.com.crt"), "-----BEGIN CERTIFICATE-----\n");
            await File.WriteAllTextAsync(Path.Combine(source, "web.example.com.key"), "-----BEGIN PRIVATE KEY-----\n");
            File.SetUnixFileMode(dir.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);

            foreach (var command in commands)
            {
                // /tmp/ first: the temporary folder is under /tmp itself.
                var local = command.Replace("/tmp/", source + "/", StringComparison.Ordinal).Replace("/etc/router/certs", certs, StringComparison.Ordinal);
                var (exitCode, output) = await RunAsync("/bin/sh", ["-c", local]);
                Assert.True(exitCode == 0, $"{local}: {output}");
            }

            var key = Path.Combine(certs, "web.example.com.key");
            Assert.Equal(0, (await RunAsync("setpriv", ["--reuid", "1654", "--regid", "1654", "--clear-groups", "cat", key])).ExitCode);
            Assert.NotEqual(0, (await RunAsync("setpriv", ["--reuid", "1655", "--regid", "1655", "--clear-groups", "cat", key])).ExitCode);
            Assert.NotEqual(0, (await RunAsync("setpriv", ["--reuid", "1655", "--regid", "1655", "--clear-groups", "ls", certs])).ExitCode);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The <c>sudo install …</c> commands of the section "HTTPS certificates on the nodes", without sudo.</summary>
    private static List<string> DocInstallCommands()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "deploy.md"));
        var start = doc.IndexOf("## HTTPS certificates on the nodes", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/deploy.md has no section 'HTTPS certificates on the nodes'");
        var section = doc[start..doc.IndexOf("\n## ", start + 3, StringComparison.Ordinal)];
        var commands = new List<string>();
        foreach (var line in section.Split('\n'))
        {
            var at = line.IndexOf("sudo install ", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            var command = line[(at + "sudo ".Length)..];
            var and = command.IndexOf(" &&", StringComparison.Ordinal);
            commands.Add(and < 0 ? command.TrimEnd('"') : command[..and]);
        }

        return commands;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, IEnumerable<string> args)
    {
        await using var run = TestProcess.Start(program, args, name: program);
        var exitCode = await run.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return (exitCode, run.Output);
    }
}
