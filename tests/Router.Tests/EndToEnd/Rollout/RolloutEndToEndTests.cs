using System.Net;
using Router.Rollout;
using Router.Testing;

namespace Router.Tests.Rollout;

/// <summary>
/// `router rollout` with the process scheduler, end to end: real echo backends, real announcers, a real router
/// and a real etcd, under constant keep-alive load through the router that must not lose one request.
/// </summary>
[Collection(RolloutGroup.Name)]
public sealed class RolloutEndToEndTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    [Fact]
    public async Task Rollout_ThreeInstancesUnderLoad_AllNewAndNoRequestLost()
    {
        var bed = await StartServiceAsync(3, "v1");
        var load = Own(LoadClient.Start(Proxy.HttpPort, RolloutBed.Service));

        var (code, output) = await bed.RunToolAsync("--to", "v2");

        Assert.True(code == 0, output);
        await load.StopAsync();
        Assert.True(load.Failures.Count == 0 && load.Ok > 0, load.Describe());
        var instances = await bed.InstancesAsync();
        Assert.Equal(3, instances.Count);
        Assert.All(instances, i => Assert.True(i.Version == "v2" && i.Running, i.ToString()));
        Assert.All(instances, i => Assert.True(i.Number > 3, $"instance {i.Number} should be new"));
        var record = await RecordAsync(bed);
        Assert.Equal(RolloutState.Done, record.State);
        Assert.Equal(("v1", "v2", "surge"), (record.From, record.To, record.Mode));
        Assert.Equal(3, record.Steps.Count(s => !s.New && s.State == InstanceState.Stopped));
        Assert.Equal(3, record.Steps.Count(s => s.New && s.State == InstanceState.Healthy));
        // Progress is JSON lines when the output is not a terminal.
        Assert.Contains(output.Split('\n'), l => l.StartsWith('{') && l.Contains("\"step\":\"ready\"", StringComparison.Ordinal));
        await WaitServedByAsync(3, "web-v2-");
    }

    [Fact]
    public async Task Rollout_NewVersionNeverHealthy_HitsDeadlineRemovesItAndOldKeepServing()
    {
        var bed = await StartServiceAsync(2, "v1");
        var load = Own(LoadClient.Start(Proxy.HttpPort, RolloutBed.Service));

        var (code, output) = await bed.RunToolAsync("--to", "broken1", "--deadline", "4");

        Assert.True(code == 1, output);
        Assert.Contains("not ready within 4 s", output, StringComparison.Ordinal);
        await load.StopAsync();
        Assert.True(load.Failures.Count == 0 && load.Ok > 0, load.Describe());
        var instances = await bed.InstancesAsync();
        Assert.Equal([1, 2], instances.Select(i => i.Number));
        Assert.All(instances, i => Assert.True(i.Version == "v1" && i.Running, i.ToString()));
        var record = await RecordAsync(bed);
        Assert.Equal(RolloutState.Failed, record.State);
        Assert.Contains("not registered", record.Reason, StringComparison.Ordinal);
        Assert.Contains(record.Steps, s => s.New && s.Number == 3 && s.State == InstanceState.Failed);
    }

    [Fact]
    public async Task Rollout_KilledMidway_ResumeFinishesWithoutLoss()
    {
        var bed = await StartServiceAsync(3, "v1");
        var load = Own(LoadClient.Start(Proxy.HttpPort, RolloutBed.Service));
        await using (var first = bed.StartTool("--to", "v2"))
        {
            // Killed after the first old instance is gone, while the second new one starts.
            await first.WaitForOutputAsync("\"instance\":5,\"step\":\"starting\"", TimeSpan.FromSeconds(120));
            await first.KillAsync();
        }

        var (refused, refusedOutput) = await bed.RunToolAsync("--to", "v3");
        Assert.True(refused == 3, refusedOutput);

        // The killed run's lease ends after --lock-ttl; --resume may be refused until then.
        var resumed = "";
        await Wait.UntilAsync(async () =>
        {
            var (code, output) = await bed.RunToolAsync("--resume");
            resumed = output;
            Assert.True(code is 0 or 3, output);
            return code == 0;
        }, "--resume to run to its end", TimeSpan.FromSeconds(120));

        Assert.Contains("resuming", resumed, StringComparison.Ordinal);
        await load.StopAsync();
        Assert.True(load.Failures.Count == 0 && load.Ok > 0, load.Describe());
        var instances = await bed.InstancesAsync();
        Assert.Equal(3, instances.Count);
        Assert.All(instances, i => Assert.True(i.Version == "v2" && i.Running, i.ToString()));
        Assert.Equal(RolloutState.Done, (await RecordAsync(bed)).State);
    }

    [Fact]
    public async Task Rollout_SecondAtTheSameTime_IsRefusedAndNamesTheHolder()
    {
        var bed = await StartServiceAsync(1, "v1");
        // The first holds the lock for at least --min-healthy once its new instance is up: long enough that the
        // second tool, a whole process start later on a loaded machine, still finds it held (3 s was not, once).
        await using var first = bed.StartTool("--to", "v2", "--min-healthy", "15");
        await first.WaitForOutputAsync("\"step\":\"starting\"", TimeSpan.FromSeconds(60));

        var (code, output) = await bed.RunToolAsync("--to", "v3");

        Assert.Equal(3, code);
        Assert.Contains($"pid {first.Id}", output, StringComparison.Ordinal);
        Assert.Contains("locked by another rollout", output, StringComparison.Ordinal);
        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.All(await bed.InstancesAsync(), i => Assert.Equal("v2", i.Version));
    }

    [Fact]
    public async Task Undo_AfterRollout_RestoresTheOldVersionWithoutLoss()
    {
        var bed = await StartServiceAsync(2, "v1");
        var load = Own(LoadClient.Start(Proxy.HttpPort, RolloutBed.Service));
        var (code, output) = await bed.RunToolAsync("--to", "v2");
        Assert.True(code == 0, output);

        (code, output) = await bed.RunToolAsync("--undo");

        Assert.True(code == 0, output);
        await load.StopAsync();
        Assert.True(load.Failures.Count == 0 && load.Ok > 0, load.Describe());
        var instances = await bed.InstancesAsync();
        Assert.Equal(2, instances.Count);
        Assert.All(instances, i => Assert.True(i.Version == "v1" && i.Running, i.ToString()));
        var record = await RecordAsync(bed);
        Assert.True(record.Undo);
        Assert.Equal(("v2", "v1", RolloutState.Done), (record.From, record.To, record.State));
        await WaitServedByAsync(2, "web-v1-");
    }

    [Fact]
    public async Task Rollout_NoRoomForAnExtraInstance_ReplacesInPlaceOneAtATimeWithoutLoss()
    {
        var bed = await StartServiceAsync(2, "v1", slots: 2);
        var load = Own(LoadClient.Start(Proxy.HttpPort, RolloutBed.Service));

        var (code, output) = await bed.RunToolAsync("--to", "v2");

        Assert.True(code == 0, output);
        await load.StopAsync();
        Assert.True(load.Failures.Count == 0 && load.Ok > 0, load.Describe());
        Assert.All(await bed.InstancesAsync(), i => Assert.True(i.Version == "v2" && i.Running, i.ToString()));
        var record = await RecordAsync(bed);
        Assert.Equal(("in-place", RolloutState.Done), (record.Mode, record.State));
        Assert.Contains("\"step\":\"in place\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NoRollout_SaysSoAndExitsZero()
    {
        var bed = Own(RolloutBed.Create(Etcd.Url, Prefix, Proxy.AdminPort));

        var (code, output) = await bed.RunToolAsync("--status");

        Assert.Equal(0, code);
        Assert.Contains("web: no rollout recorded", output, StringComparison.Ordinal);
    }

    private async Task<RolloutBed> StartServiceAsync(int count, string version, int slots = 0)
    {
        var bed = Own(RolloutBed.Create(Etcd.Url, Prefix, Proxy.AdminPort, slots));
        await bed.StartInstancesAsync(count, version);
        await WaitServedByAsync(count, $"web-{version}-");
        return bed;
    }

    /// <summary>Waits until the router lists <paramref name="count"/> hosts up, all answering as <paramref name="namePrefix"/>.</summary>
    private async Task WaitServedByAsync(int count, string namePrefix)
    {
        await Wait.UntilAsync(async () =>
        {
            var status = await Proxy.StatusAsync();
            var web = status.GetProperty("services").EnumerateArray().FirstOrDefault(s => s.GetProperty("name").GetString() == RolloutBed.Service);
            return web.ValueKind != System.Text.Json.JsonValueKind.Undefined
                && web.GetProperty("hosts").EnumerateArray().Count(h => h.GetProperty("health").GetString() == "up") == count;
        }, $"{count} hosts of web up in the router", TimeSpan.FromSeconds(60));
        for (var i = 0; i < count * 3; i++)
        {
            var (status, echo) = await Proxy.EchoAsync(RolloutBed.Service, "/");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.StartsWith(namePrefix, echo!.Name, StringComparison.Ordinal);
        }
    }

    private static async Task<RolloutRecord> RecordAsync(RolloutBed bed)
    {
        var (code, output) = await bed.RunToolAsync("--status", "--json");
        Assert.True(code == 0, output);
        return RolloutRecord.Parse(output.Trim()) ?? throw new InvalidOperationException("no record: " + output);
    }
}
