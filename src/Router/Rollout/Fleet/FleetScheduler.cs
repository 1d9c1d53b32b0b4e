using System.Globalization;
using System.Text.RegularExpressions;

namespace Router.Rollout.Fleet;

/// <summary>
/// Instances as fleet units: <c>NAME@N.service</c> and its sidekick <c>NAME-presence@N.service</c>, created
/// client-side from the templates <c>NAME@.service</c> / <c>NAME-presence@.service</c> in fleet's registry, as
/// fleetctl does. An instance's version is the value of its <c>Environment=*_IMAGE=</c> line; a new instance
/// gets the template's options with that value set. "Running" is fleet's <c>launched</c> plus systemd's
/// <c>active</c> for both units.
/// </summary>
internal sealed partial class FleetScheduler(FleetClient fleet) : IScheduler
{
    private const string Launched = "launched";
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(60);

    public async Task<IReadOnlyList<SchedulerInstance>> ListAsync(string service, CancellationToken cancellationToken)
    {
        var units = await fleet.UnitsAsync(cancellationToken).ConfigureAwait(false);
        var states = (await fleet.StatesAsync(null, cancellationToken).ConfigureAwait(false)).ToDictionary(s => s.Name, StringComparer.Ordinal);
        var byName = units.ToDictionary(u => u.Name, StringComparer.Ordinal);
        var list = new List<SchedulerInstance>();
        foreach (var unit in units)
        {
            if (Number(service, unit.Name) is not { } number)
            {
                continue;
            }

            byName.TryGetValue(PresenceName(service, number), out var presence);
            var running = Runs(unit, states) && presence is not null && Runs(presence, states);
            var detail = $"{unit.Name} {Describe(unit, states)}, {PresenceName(service, number)} {(presence is null ? "missing" : Describe(presence, states))}";
            list.Add(new SchedulerInstance(number, Image(unit.Options) ?? "(no *_IMAGE)", running, detail));
        }

        return [.. list.OrderBy(i => i.Number)];
    }

    /// <summary>
    /// With <c>Conflicts=NAME@*.service</c> in the template (one instance per machine), another instance fits
    /// only while fewer instances exist than machines; without it fleet places anywhere.
    /// </summary>
    public async Task<bool> CanPlaceAsync(string service, CancellationToken cancellationToken)
    {
        var template = await TemplateAsync(TemplateName(service), cancellationToken).ConfigureAwait(false);
        var conflicts = template.Options.Any(o => o.Section == "X-Fleet" && o.Name == "Conflicts"
            && o.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Any(v => v.StartsWith(service + "@", StringComparison.Ordinal)));
        if (!conflicts)
        {
            return true;
        }

        var machines = await fleet.MachinesAsync(cancellationToken).ConfigureAwait(false);
        var instances = (await fleet.UnitsAsync(cancellationToken).ConfigureAwait(false)).Count(u => Number(service, u.Name) is not null);
        return instances < machines.Count;
    }

    public async Task StartAsync(string service, int number, string version, CancellationToken cancellationToken)
    {
        var template = await TemplateAsync(TemplateName(service), cancellationToken).ConfigureAwait(false);
        var options = WithImage(template.Options, version, TemplateName(service));
        var presenceTemplate = await TemplateAsync(PresenceName(service, null), cancellationToken).ConfigureAwait(false);
        await LaunchAsync(InstanceName(service, number), options, cancellationToken).ConfigureAwait(false);
        await LaunchAsync(PresenceName(service, number), presenceTemplate.Options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>fleetctl stop of the sidekick (desired state <c>loaded</c>), then waits until systemd stopped it.</summary>
    public async Task WithdrawAsync(string service, int number, CancellationToken cancellationToken)
    {
        var name = PresenceName(service, number);
        if (await fleet.UnitAsync(name, cancellationToken).ConfigureAwait(false) is null)
        {
            return;
        }

        await fleet.PutAsync(name, "loaded", null, cancellationToken).ConfigureAwait(false);
        await WaitAsync(async () => (await fleet.StatesAsync(name, cancellationToken).ConfigureAwait(false)).All(s => s.ActiveState != "active"), $"{name} to stop", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>fleetctl destroy of the sidekick, then of the service; waits until no machine runs either.</summary>
    public async Task RemoveAsync(string service, int number, CancellationToken cancellationToken)
    {
        foreach (var name in new[] { PresenceName(service, number), InstanceName(service, number) })
        {
            await fleet.DeleteAsync(name, cancellationToken).ConfigureAwait(false);
            await WaitAsync(async () => (await fleet.StatesAsync(name, cancellationToken).ConfigureAwait(false)).Count == 0, $"{name} to be gone", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The value of the unit's <c>Environment=SOMETHING_IMAGE=value</c>, the instance's version.</summary>
    public static string? Image(IEnumerable<FleetUnitOption> options) =>
        options.Where(o => o.Section == "Service" && o.Name == "Environment")
            .Select(o => ImageLine().Match(o.Value))
            .FirstOrDefault(m => m.Success)?.Groups["value"].Value;

    /// <summary>The template's options with the image set to <paramref name="version"/>.</summary>
    public static IReadOnlyList<FleetUnitOption> WithImage(IReadOnlyList<FleetUnitOption> options, string version, string template)
    {
        var found = false;
        var result = options.Select(o =>
        {
            if (!found && o.Section == "Service" && o.Name == "Environment" && ImageLine().Match(o.Value) is { Success: true } m)
            {
                found = true;
                return o with { Value = $"{m.Groups["name"].Value}={version}" };
            }

            return o;
        }).ToList();
        return found ? result : throw new FleetException($"{template} has no Environment=NAME_IMAGE=… line to set the version in", 0);
    }

    public static int? Number(string service, string unit) =>
        unit.StartsWith(service + "@", StringComparison.Ordinal) && unit.EndsWith(".service", StringComparison.Ordinal)
        && int.TryParse(unit.AsSpan(service.Length + 1, unit.Length - service.Length - 1 - ".service".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n : null;

    private static string TemplateName(string service) => $"{service}@.service";

    private static string InstanceName(string service, int number) => string.Create(CultureInfo.InvariantCulture, $"{service}@{number}.service");

    private static string PresenceName(string service, int? number) => string.Create(CultureInfo.InvariantCulture, $"{service}-presence@{number}.service");

    private static bool Runs(FleetUnit unit, Dictionary<string, FleetUnitState> states) =>
        unit.CurrentState == Launched && states.TryGetValue(unit.Name, out var s) && s.ActiveState == "active";

    private static string Describe(FleetUnit unit, Dictionary<string, FleetUnitState> states) =>
        states.TryGetValue(unit.Name, out var s)
            ? $"{unit.CurrentState ?? "-"} ({s.ActiveState}/{s.SubState} on {s.MachineId})"
            : $"{unit.CurrentState ?? "-"} (desired {unit.DesiredState}, not on a machine)";

    private async Task<FleetUnit> TemplateAsync(string name, CancellationToken cancellationToken) =>
        await fleet.UnitAsync(name, cancellationToken).ConfigureAwait(false)
            ?? throw new FleetException($"fleet has no template {name}: submit it first (fleetctl submit units/{name})", 404);

    /// <summary>
    /// Launches the instance with exactly <paramref name="options"/>: an existing unit with other content is
    /// destroyed first, since fleet ignores the options of a PUT to an existing unit.
    /// </summary>
    private async Task LaunchAsync(string name, IReadOnlyList<FleetUnitOption> options, CancellationToken cancellationToken)
    {
        if (await fleet.UnitAsync(name, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            if (existing.Options.SequenceEqual(options))
            {
                await fleet.PutAsync(name, Launched, null, cancellationToken).ConfigureAwait(false);
                return;
            }

            await fleet.DeleteAsync(name, cancellationToken).ConfigureAwait(false);
        }

        await fleet.PutAsync(name, Launched, options, cancellationToken).ConfigureAwait(false);
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + StopWait;
        while (!await condition().ConfigureAwait(false))
        {
            if (DateTime.UtcNow > until)
            {
                throw new FleetException($"timed out after {StopWait.TotalSeconds:0} s waiting for {what}", 0);
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }
    }

    [GeneratedRegex("^(?<name>[A-Za-z_][A-Za-z0-9_]*_IMAGE)=(?<value>.*)$")]
    private static partial Regex ImageLine();
}
