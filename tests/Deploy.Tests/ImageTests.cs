using System.Globalization;
using System.Net;
using Router.Testing;
using Xunit.Abstractions;

namespace Router.Deploy.Tests;

/// <summary>
/// The images as a node runs them, on a private Docker daemon (Debian's docker.io): the router
/// with <c>--network host</c> and the unit's capability rules (<c>--cap-drop ALL --cap-add
/// NET_BIND_SERVICE</c>, user 1654, no no-new-privileges) against a real etcd, every listener on
/// loopback; the announcer registering an instance.
/// </summary>
[Collection(ImageGroup.Name)]
public sealed class ImageTests(ImageFixture images, ITestOutputHelper output)
{
    private static readonly TimeSpan DockerTimeout = TimeSpan.FromMinutes(1);

    [DockerFact]
    public async Task RouterImage_RunLikeTheUnit_RoutesAnswersDnsIsHealthyKeepsStateAndDrains()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var backend = await TestBackend.StartAsync("web");
        var prefix = EtcdFixture.NewPrefix();
        await etcd.PutAsync($"{prefix}/web/scheme", "http");
        await etcd.PutAsync($"{prefix}/web/hosts/1", backend.Address);
        // Port 80 and 53 as on a node, so the non-root router needs its NET_BIND_SERVICE; on an
        // address of 127/8 of its own, where nothing else on this machine listens. The admin port too:
        // a free port of 127.0.0.1 picked here could be taken by another test before the container binds it.
        var address = LoopbackAddress();
        var state = await StateFolderAsync();
        var name = "router-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await images.Daemon.RunAsync(
            [
                "run", "-d", "--name", name, "--network", "host",
                "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
                // The image's own probe command, checked every 2 s instead of 15 s to keep the test short.
                "--health-interval", "2s", "--health-start-period", "0s",
                "-v", $"{state.FullName}:/var/lib/router",
                $"router:{ImageFixture.Tag}",
                "--etcd", etcd.Url, "--prefix", prefix,
                "--http", $"{address}:80",
                "--admin", $"{address}:9090",
                "--dns", $"{address}:53", "--dns-answer", "127.0.0.9",
                "--dns-upstream", $"127.0.0.1:{Ports.FreeTcpAndUdp()}",
                "--shutdown-delay", "1", "--drain-timeout", "2",
                "--state-file", "/var/lib/router/registry.json",
            ], DockerTimeout);

            using var http = new HttpClient { BaseAddress = new Uri($"http://{address}/"), Timeout = TimeSpan.FromSeconds(5) };
            await WithLogsAsync(name, () => Wait.UntilAsync(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
                request.Headers.Host = "web.example.com";
                using var response = await http.SendAsync(request);
                return response.StatusCode == HttpStatusCode.OK && BackendEcho.Parse(await response.Content.ReadAsStringAsync()).Name == "web";
            }, "the router in the container to route web.example.com to the backend", TimeSpan.FromSeconds(60)));

            Assert.Equal("127.0.0.9", await DigAsync(address, "web.local"));

            // The HEALTHCHECK probes --admin (here not the default 127.0.0.1:9090), so the container turns healthy.
            await WithLogsAsync(name, () => Wait.UntilAsync(async () => await InspectAsync(name, "{{.State.Health.Status}}") == "healthy",
                "the container's HEALTHCHECK to pass", TimeSpan.FromSeconds(60)));

            // The router saves what changes once it has read etcd: a second host, through the volume.
            await etcd.PutAsync($"{prefix}/web/hosts/2", $"127.0.0.1:{Ports.FreeTcp()}");
            var saved = Path.Combine(state.FullName, "registry.json");
            await WithLogsAsync(name, () => Wait.UntilAsync(() => File.Exists(saved)
                && File.ReadAllText(saved).Contains($"{prefix}/web/hosts/2", StringComparison.Ordinal),
                "the state file in the volume to hold the registry's keys", TimeSpan.FromSeconds(30)));

            Assert.Equal("1654:1654", await InspectAsync(name, "{{.Config.User}}"));
            // The JIT build's tiering on a node with one CPU (docker/router.Dockerfile).
            Assert.Contains("\"DOTNET_TC_DelaySingleProcMultiplier=1\"", await InspectAsync(name, "{{json .Config.Env}}"), StringComparison.Ordinal);

            // docker stop: SIGTERM to PID 1, the router drains and exits 0 well before docker's SIGKILL.
            await images.Daemon.RunAsync(["stop", "--time", "20", name], DockerTimeout);
            Assert.Equal("0", await InspectAsync(name, "{{.State.ExitCode}}"));
            Assert.Equal("false", await InspectAsync(name, "{{.State.OOMKilled}}"));
        }
        finally
        {
            await images.Daemon.RunAsync(["rm", "-f", name], DockerTimeout, check: false);
            state.Delete(recursive: true);
        }
    }

    [DockerFact]
    public async Task RouterImage_NoNewPrivileges_CannotBindPort80()
    {
        // Why the unit must not add no-new-privileges: under Docker it cancels the apphost's file
        // capability, and the non-root router cannot bind its ports.
        var address = LoopbackAddress();
        var name = "router-nnp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await images.Daemon.RunAsync(
            [
                "run", "-d", "--name", name, "--network", "host",
                "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges",
                $"router:{ImageFixture.Tag}",
                "--etcd", "http://127.0.0.1:1", "--http", $"{address}:80", "--admin", $"{address}:9090",
                "--dns", $"{address}:53", "--dns-upstream", "127.0.0.1:1",
            ], DockerTimeout);

            await Wait.UntilAsync(async () => await InspectAsync(name, "{{.State.Status}}") == "exited",
                "the router without its capability to exit", TimeSpan.FromSeconds(60));

            Assert.NotEqual("0", await InspectAsync(name, "{{.State.ExitCode}}"));
            var logs = await images.Daemon.RunAsync(["logs", name], DockerTimeout);
            Assert.Contains("Permission denied", logs.Output, StringComparison.Ordinal);
            Assert.Contains("Router failed to start", logs.Output, StringComparison.Ordinal);
        }
        finally
        {
            await images.Daemon.RunAsync(["rm", "-f", name], DockerTimeout, check: false);
        }
    }

    [DockerFact]
    public async Task AnnouncerImage_Run_RegistersInstanceAndWithdrawsOnStop()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var backend = await TestBackend.StartAsync("api");
        var prefix = EtcdFixture.NewPrefix();
        var name = "announcer-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await images.Daemon.RunAsync(
            [
                "run", "-d", "--name", name, "--network", "host", "--cap-drop", "ALL",
                $"announcer:{ImageFixture.Tag}",
                "--etcd", etcd.Url, "--prefix", prefix,
                "--service", "api", "--instance", "1", "--address", backend.Address,
                "--check", $"http://{backend.Address}/health", "--interval", "1", "--drain", "0",
            ], DockerTimeout);

            await WithLogsAsync(name, () => Wait.UntilAsync(async () => await etcd.GetAsync($"{prefix}/api/hosts/1") == backend.Address,
                "the announcer in the container to register the instance", TimeSpan.FromSeconds(60)));
            Assert.Equal("http", await etcd.GetAsync($"{prefix}/api/scheme"));

            await images.Daemon.RunAsync(["stop", "--time", "20", name], DockerTimeout);
            Assert.Equal("0", await InspectAsync(name, "{{.State.ExitCode}}"));
            Assert.Null(await etcd.GetAsync($"{prefix}/api/hosts/1"));
        }
        finally
        {
            await images.Daemon.RunAsync(["rm", "-f", name], DockerTimeout, check: false);
        }
    }

    [DockerFact]
    public void Images_Sizes_StayNearTheMeasured()
    {
        // Measured (docs/deploy.md): base 24.6 MB, router and announcer ≈ 138 MB each, the
        // self-contained runtime being most of it. A guard against a package or a copied layer too
        // many, not the 100 MB aim of issue 19, which a self-contained untrimmed publish misses.
        var sizes = string.Join(", ", images.Sizes.Select(s => $"{s.Key} {s.Value / 1e6:F1} MB"));
        output.WriteLine(sizes);

        Assert.True(images.Sizes["router-base:bookworm"] < 30_000_000, sizes);
        Assert.True(images.Sizes[$"router:{ImageFixture.Tag}"] < 150_000_000, sizes);
        Assert.True(images.Sizes[$"announcer:{ImageFixture.Tag}"] < 150_000_000, sizes);
    }

    /// <summary>Runs a wait; when it times out, the failure carries the container's log.</summary>
    private async Task WithLogsAsync(string container, Func<Task> wait)
    {
        try
        {
            await wait();
        }
        catch (TimeoutException e)
        {
            var logs = await images.Daemon.RunAsync(["logs", container], DockerTimeout, check: false);
            throw new TimeoutException($"{e.Message}\ncontainer log:\n{logs.Output}", e);
        }
    }

    private async Task<string> InspectAsync(string container, string format) =>
        (await images.Daemon.RunAsync(["inspect", "-f", format, container], DockerTimeout)).Output;

    /// <summary>An address of 127/8 unlikely to be used by anything else on the machine.</summary>
    private static string LoopbackAddress() =>
        string.Create(CultureInfo.InvariantCulture, $"127.{Random.Shared.Next(100, 200)}.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}");

    /// <summary>The volume for --state-file, owned by the image's user as the unit's `install -o 1654` makes it.</summary>
    private static async Task<DirectoryInfo> StateFolderAsync()
    {
        var state = Directory.CreateTempSubdirectory("router-state-");
        await using var chown = TestProcess.Start("/bin/chown", ["1654:1654", state.FullName], name: "chown");
        Assert.Equal(0, await chown.WaitForExitAsync());
        return state;
    }

    private static async Task<string> DigAsync(string server, string name)
    {
        await using var dig = TestProcess.Start("dig", [$"@{server}", "-p", "53", "+short", "+time=2", "+tries=3", name, "A"], name: "dig");
        Assert.Equal(0, await dig.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        return dig.Output.Trim();
    }
}
