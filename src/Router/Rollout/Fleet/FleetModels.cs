using System.Text.Json.Serialization;

namespace Router.Rollout.Fleet;

// fleet API v1 documents (coreos/fleet schema/v1.json); field names are fleet's own.

/// <summary>One line of a unit file: <c>[Section] Name=Value</c>.</summary>
internal sealed record FleetUnitOption(
    [property: JsonPropertyName("section")] string Section,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value);

/// <summary>A unit in fleet's registry.</summary>
internal sealed record FleetUnit(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("options")] IReadOnlyList<FleetUnitOption> Options,
    [property: JsonPropertyName("desiredState")] string DesiredState,
    [property: JsonPropertyName("currentState")] string? CurrentState,
    [property: JsonPropertyName("machineID")] string? MachineId);

internal sealed record FleetUnitPage(
    [property: JsonPropertyName("units")] IReadOnlyList<FleetUnit>? Units,
    [property: JsonPropertyName("nextPageToken")] string? NextPageToken);

/// <summary>What systemd on the unit's machine reports; <c>hash</c> is the SHA1 of the unit file it runs.</summary>
internal sealed record FleetUnitState(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("hash")] string? Hash,
    [property: JsonPropertyName("machineID")] string? MachineId,
    [property: JsonPropertyName("systemdLoadState")] string? LoadState,
    [property: JsonPropertyName("systemdActiveState")] string? ActiveState,
    [property: JsonPropertyName("systemdSubState")] string? SubState);

internal sealed record FleetStatePage(
    [property: JsonPropertyName("states")] IReadOnlyList<FleetUnitState>? States,
    [property: JsonPropertyName("nextPageToken")] string? NextPageToken);

internal sealed record FleetMachine(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("primaryIP")] string? PrimaryIp);

internal sealed record FleetMachinePage(
    [property: JsonPropertyName("machines")] IReadOnlyList<FleetMachine>? Machines,
    [property: JsonPropertyName("nextPageToken")] string? NextPageToken);

/// <summary>The body of a PUT: the desired state, and the options when the unit is new.</summary>
internal sealed record FleetUnitPut(
    [property: JsonPropertyName("desiredState")] string DesiredState,
    [property: JsonPropertyName("options"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<FleetUnitOption>? Options);

internal sealed record FleetErrorBody([property: JsonPropertyName("error")] FleetError? Error);

internal sealed record FleetError(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("message")] string? Message);
