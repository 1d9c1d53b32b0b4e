using Router.Rollout;
using Router.Rollout.Fleet;
using Router.Testing;

namespace Router.Tests.Rollout;

/// <summary>
/// The fleet adapter against <see cref="FleetApiResponder"/>, fleet's documented API v1 in memory over real HTTP
/// (fleet itself cannot run here). Every call the adapter makes is covered, errors included.
/// </summary>
public sealed class FleetSchedulerTests : IAsyncLifetime
{
    private static readonly (string, string, string)[] Template =
    [
        ("Unit", "Description", "web %i"),
        ("Service", "Environment", "WEB_PORT=8080"),
        ("Service", "Environment", "WEB_IMAGE=nginx:1"),
        ("Service", "ExecStart", "/usr/bin/docker run --rm --name web-%i ${WEB_IMAGE}"),
        ("X-Fleet", "Conflicts", "web@*.service"),
    ];

    private static readonly (string, string, string)[] PresenceTemplate =
    [
        ("Service", "ExecStart", "/usr/bin/docker run --rm router announcer --service web --instance %i"),
        ("X-Fleet", "MachineOf", "web@%i.service"),
    ];

    private FleetApiResponder _fleet = null!;
    private FleetClient _client = null!;
    private FleetScheduler _scheduler = null!;

    public async Task InitializeAsync()
    {
        _fleet = await FleetApiResponder.StartAsync(machines: 3);
        _client = new FleetClient(_fleet.Address);
        _scheduler = new FleetScheduler(_client);
        _fleet.Add("web@.service", "inactive", Template);
        _fleet.Add("web-presence@.service", "inactive", PresenceTemplate);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _fleet.DisposeAsync();
    }

    [Fact]
    public async Task List_MoreUnitsThanAPage_FollowsNextPageTokenAndReadsVersionFromImage()
    {
        await _scheduler.StartAsync("web", 1, "nginx:1", CancellationToken.None);
        await _scheduler.StartAsync("web", 2, "nginx:2", CancellationToken.None);
        _fleet.Add("other@1.service", "launched", ("Service", "ExecStart", "/bin/true"));

        var instances = await _scheduler.ListAsync("web", CancellationToken.None);

        Assert.Equal([(1, "nginx:1", true), (2, "nginx:2", true)], instances.Select(i => (i.Number, i.Version, i.Running)));
        // 7 units in pages of 2: four GETs of the list, the later ones with the token.
        Assert.Contains(_fleet.Calls, c => c.StartsWith("GET /fleet/v1/units?nextPageToken=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_NewInstance_IsCreatedFromTheTemplateWithTheImageAndLaunched()
    {
        await _scheduler.StartAsync("web", 4, "nginx:2", CancellationToken.None);

        var unit = _fleet.Get("web@4.service");
        Assert.NotNull(unit);
        Assert.Equal(("launched", "launched"), (unit.Value.Desired, unit.Value.Current));
        Assert.Contains(("Service", "Environment", "WEB_IMAGE=nginx:2"), unit.Value.Options);
        Assert.Contains(("Service", "Environment", "WEB_PORT=8080"), unit.Value.Options);
        Assert.Equal("launched", _fleet.Get("web-presence@4.service")?.Current);
        Assert.Contains("PUT /fleet/v1/units/web@4.service", _fleet.Calls);
    }

    [Fact]
    public async Task Start_InstanceExistsWithOtherContent_IsDestroyedAndPutAgain()
    {
        await _scheduler.StartAsync("web", 1, "nginx:1", CancellationToken.None);

        await _scheduler.StartAsync("web", 1, "nginx:2", CancellationToken.None);

        Assert.Contains(("Service", "Environment", "WEB_IMAGE=nginx:2"), _fleet.Get("web@1.service")!.Value.Options);
        var calls = _fleet.Calls.Where(c => c.EndsWith("/web@1.service", StringComparison.Ordinal) && !c.StartsWith("GET", StringComparison.Ordinal)).ToList();
        Assert.Equal(["PUT /fleet/v1/units/web@1.service", "DELETE /fleet/v1/units/web@1.service", "PUT /fleet/v1/units/web@1.service"], calls);
    }

    [Fact]
    public async Task Start_InstanceExistsWithSameContentButStopped_IsOnlyLaunched()
    {
        await _scheduler.StartAsync("web", 1, "nginx:1", CancellationToken.None);
        await _scheduler.WithdrawAsync("web", 1, CancellationToken.None);

        await _scheduler.StartAsync("web", 1, "nginx:1", CancellationToken.None);

        Assert.Equal("launched", _fleet.Get("web-presence@1.service")?.Current);
        Assert.DoesNotContain(_fleet.Calls, c => c.StartsWith("DELETE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CanPlace_OneInstancePerMachineAndEveryMachineTaken_IsFalse()
    {
        for (var n = 1; n <= 2; n++)
        {
            await _scheduler.StartAsync("web", n, "nginx:1", CancellationToken.None);
        }

        Assert.True(await _scheduler.CanPlaceAsync("web", CancellationToken.None));
        await _scheduler.StartAsync("web", 3, "nginx:1", CancellationToken.None);

        Assert.False(await _scheduler.CanPlaceAsync("web", CancellationToken.None));
        Assert.Contains("GET /fleet/v1/machines", _fleet.Calls);
    }

    [Fact]
    public async Task CanPlace_TemplateWithoutConflicts_IsTrueWhateverTheCount()
    {
        _fleet.Add("api@.service", "inactive", ("Service", "Environment", "API_IMAGE=api:1"), ("Service", "ExecStart", "/bin/api"));
        _fleet.Add("api-presence@.service", "inactive", ("Service", "ExecStart", "/bin/announcer"));
        for (var n = 1; n <= 4; n++)
        {
            await _scheduler.StartAsync("api", n, "api:1", CancellationToken.None);
        }

        Assert.True(await _scheduler.CanPlaceAsync("api", CancellationToken.None));
        Assert.Equal(4, (await _scheduler.ListAsync("api", CancellationToken.None)).Count(i => i.Running));
    }

    [Fact]
    public async Task Withdraw_StopsTheSidekickOnly()
    {
        await _scheduler.StartAsync("web", 1, "nginx:1", CancellationToken.None);

        await _scheduler.WithdrawAsync("web", 1, CancellationToken.None);

        Assert.Equal(("loaded", "loaded"), (_fleet.Get("web-presence@1.service")?.Desired, _fleet.Get("web-presence@1.service")?.Current));
        Assert.Equal("launched", _fleet.Get("web@1.service")?.Current);
        Assert.False((await _scheduler.ListAsync("web", CancellationToken.None)).Single().Running);
        Assert.Contains("GET /fleet/v1/state?unitName=web-presence%401.service", _fleet.Calls);
    }

    [Fact]
    public async Task Remove_DestroysSidekickThenService()
    {
        await _scheduler.StartAsync("web", 1, "nginx:1", CancellationToken.None);

        await _scheduler.RemoveAsync("web", 1, CancellationToken.None);

        Assert.Null(_fleet.Get("web@1.service"));
        Assert.Null(_fleet.Get("web-presence@1.service"));
        var deletes = _fleet.Calls.Where(c => c.StartsWith("DELETE", StringComparison.Ordinal)).ToList();
        Assert.Equal(["DELETE /fleet/v1/units/web-presence@1.service", "DELETE /fleet/v1/units/web@1.service"], deletes);
        Assert.Empty(await _scheduler.ListAsync("web", CancellationToken.None));
    }

    [Fact]
    public async Task Remove_UnitsAlreadyGone_IsNotAnError()
    {
        await _scheduler.RemoveAsync("web", 9, CancellationToken.None);

        Assert.Equal(2, _fleet.Calls.Count(c => c.StartsWith("DELETE", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Start_NoTemplateSubmitted_FailsNamingIt()
    {
        var e = await Assert.ThrowsAsync<FleetException>(() => _scheduler.StartAsync("api", 1, "api:2", CancellationToken.None));

        Assert.Contains("no template api@.service", e.Message, StringComparison.Ordinal);
        Assert.Null(_fleet.Get("api@1.service"));
    }

    [Fact]
    public async Task Start_TemplateWithoutImageLine_FailsAndCreatesNothing()
    {
        _fleet.Add("api@.service", "inactive", ("Service", "ExecStart", "/bin/api"));
        _fleet.Add("api-presence@.service", "inactive", ("Service", "ExecStart", "/bin/announcer"));

        var e = await Assert.ThrowsAsync<FleetException>(() => _scheduler.StartAsync("api", 1, "api:2", CancellationToken.None));

        Assert.Contains("Environment=NAME_IMAGE=", e.Message, StringComparison.Ordinal);
        Assert.Null(_fleet.Get("api@1.service"));
    }

    [Fact]
    public async Task AnyCall_FleetAnswersAnError_FailsWithFleetsMessage()
    {
        _fleet.FailWith = 500;

        var e = await Assert.ThrowsAsync<FleetException>(() => _scheduler.ListAsync("web", CancellationToken.None));

        Assert.Equal(500, e.Status);
        Assert.Contains("injected failure", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_ExistingUnitWithoutDesiredState_Is409AndReported()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_fleet.Address) };
        using var content = new StringContent("""{"options":[]}""", System.Text.Encoding.UTF8, "application/json");
        using var raw = await http.PutAsync("/fleet/v1/units/web@.service", content);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, raw.StatusCode);

        var e = await Assert.ThrowsAsync<FleetException>(() => _client.PutAsync("web@.service", "launched", null, CancellationToken.None));

        Assert.Equal(400, e.Status);
        Assert.Contains("template unit can only be inactive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_NewUnitWithoutOptions_Is409()
    {
        var e = await Assert.ThrowsAsync<FleetException>(() => _client.PutAsync("web@7.service", "launched", null, CancellationToken.None));

        Assert.Equal(409, e.Status);
        Assert.Null(_fleet.Get("web@7.service"));
    }

    [Fact]
    public async Task Client_OverUnixSocket_ListsStatesAndMachines()
    {
        await using var fleet = await FleetApiResponder.StartAsync(machines: 3, unixSocket: true);
        fleet.Add("web@1.service", "launched", ("Service", "Environment", "WEB_IMAGE=nginx:1"));
        fleet.Add("web@2.service", "loaded", ("Service", "Environment", "WEB_IMAGE=nginx:1"));
        fleet.Add("web@3.service", "launched", ("Service", "Environment", "WEB_IMAGE=nginx:1"));
        using var client = new FleetClient(fleet.Address);

        var states = await client.StatesAsync(null, CancellationToken.None);
        var machines = await client.MachinesAsync(CancellationToken.None);

        Assert.Equal(["web@1.service", "web@2.service", "web@3.service"], states.Select(s => s.Name));
        Assert.Equal(["active", "inactive", "active"], states.Select(s => s.ActiveState));
        Assert.All(states, s => Assert.Matches("^[0-9a-f]{40}$", s.Hash));
        Assert.Equal(3, machines.Count);
        Assert.Contains(fleet.Calls, c => c.StartsWith("GET /fleet/v1/state?nextPageToken=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Client_UnitMissing_GetIsNullAndDeleteIsFalse()
    {
        Assert.Null(await _client.UnitAsync("nothing@1.service", CancellationToken.None));
        Assert.False(await _client.DeleteAsync("nothing@1.service", CancellationToken.None));
    }

    [Fact]
    public void Image_ReadsTheFirstImageLine()
    {
        Assert.Equal("nginx:1", FleetScheduler.Image([new FleetUnitOption("Service", "Environment", "WEB_IMAGE=nginx:1")]));
        Assert.Null(FleetScheduler.Image([new FleetUnitOption("Service", "Environment", "WEB_PORT=80")]));
        Assert.Equal(4, FleetScheduler.Number("web", "web@4.service"));
        Assert.Null(FleetScheduler.Number("web", "web-presence@4.service"));
        Assert.Null(FleetScheduler.Number("web", "web@.service"));
    }
}
