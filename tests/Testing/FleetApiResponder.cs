using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Router.Testing;

/// <summary>
/// fleet's HTTP API v1 in memory, over real HTTP on a unix socket or a loopback port, for testing a client where
/// fleet itself cannot run (it needs systemd over D-Bus; its repository is archived). It follows the documented
/// API (coreos/fleet Documentation/api-v1.md, schema/v1.json): units listed in pages of <see cref="PageSize"/>
/// with <c>nextPageToken</c>; PUT creates (201; 409 without options) or sets the desired state of an existing
/// unit (204, options ignored; 409 without desiredState); a template can only be <c>inactive</c>; DELETE 204/404;
/// <c>/state</c> with SHA1 hashes of the unit files; errors as <c>{"error":{"code","message"}}</c>. Its engine
/// schedules at once: a loaded or launched unit goes to the first machine without a <c>Conflicts=</c> clash, and
/// systemd there reports it active (launched) or inactive (loaded). A unit no machine can take stays unscheduled.
/// </summary>
public sealed class FleetApiResponder : IAsyncDisposable
{
    private static readonly string[] States = ["inactive", "loaded", "launched"];
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, Unit> _units = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _calls = new();

    private FleetApiResponder(WebApplication app, string address, IReadOnlyList<string> machines)
    {
        _app = app;
        Address = address;
        Machines = machines;
    }

    /// <summary>What a client gives as <c>--fleet</c>: <c>unix:/path</c> or <c>http://127.0.0.1:port</c>.</summary>
    public string Address { get; }

    public IReadOnlyList<string> Machines { get; }

    /// <summary>fleetd's <c>--token-limit</c>: entries per page.</summary>
    public int PageSize { get; set; } = 2;

    /// <summary>When set, every request is answered with this status and a fleet error body.</summary>
    public int? FailWith { get; set; }

    /// <summary>Every request as "METHOD /path?query", in order.</summary>
    public IReadOnlyCollection<string> Calls => _calls;

    public static async Task<FleetApiResponder> StartAsync(int machines = 3, bool unixSocket = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        string address;
        string? socket = null;
        if (unixSocket)
        {
            socket = Path.Combine(Path.GetTempPath(), $"fleet-{Guid.NewGuid():N}.sock");
            builder.WebHost.UseKestrel(k => k.ListenUnixSocket(socket));
            address = "unix:" + socket;
        }
        else
        {
            var port = Ports.FreeTcp();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
            address = $"http://127.0.0.1:{port}";
        }

        var app = builder.Build();
        var responder = new FleetApiResponder(app, address, [.. Enumerable.Range(1, machines).Select(i => $"machine{i}")]);
        app.Run(responder.HandleAsync);
        await app.StartAsync();
        return responder;
    }

    /// <summary>Adds a unit as <c>fleetctl submit/load/start</c> would, bypassing HTTP (test setup).</summary>
    public void Add(string name, string desiredState, params (string Section, string Name, string Value)[] options)
    {
        lock (_gate)
        {
            var unit = new Unit(name, [.. options.Select(o => new Option(o.Section, o.Name, o.Value))], desiredState);
            _units[name] = unit;
            Schedule(unit);
        }
    }

    /// <summary>A unit's desired state, current state and machine, or null when fleet has none of that name.</summary>
    public (string Desired, string Current, string? Machine, IReadOnlyList<(string Section, string Name, string Value)> Options)? Get(string name)
    {
        lock (_gate)
        {
            return _units.TryGetValue(name, out var u)
                ? (u.Desired, u.Current, u.Machine, [.. u.Options.Select(o => (o.Section, o.Name, o.Value))])
                : null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (Address.StartsWith("unix:", StringComparison.Ordinal))
        {
            File.Delete(Address["unix:".Length..]);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        _calls.Enqueue($"{request.Method} {request.Path}{request.QueryString}");
        if (FailWith is { } failure)
        {
            await ErrorAsync(context, failure, "injected failure");
            return;
        }

        var path = request.Path.Value ?? "";
        const string unitsPath = "/fleet/v1/units";
        if (path == unitsPath && HttpMethods.IsGet(request.Method))
        {
            await PageAsync(context, "units", [.. Snapshot().Select(u => (JsonNode)UnitJson(u))]);
        }
        else if (path.StartsWith(unitsPath + "/", StringComparison.Ordinal) && path.Length > unitsPath.Length + 1)
        {
            var name = Uri.UnescapeDataString(path[(unitsPath.Length + 1)..]);
            await UnitAsync(context, name);
        }
        else if (path == "/fleet/v1/state" && HttpMethods.IsGet(request.Method))
        {
            var unitName = request.Query["unitName"].ToString();
            var machine = request.Query["machineID"].ToString();
            var states = Snapshot()
                .Where(u => u.Machine is not null && u.Current != "inactive")
                .Where(u => unitName.Length == 0 || u.Name == unitName)
                .Where(u => machine.Length == 0 || u.Machine == machine)
                .Select(u => (JsonNode)new JsonObject
                {
                    ["name"] = u.Name,
                    ["hash"] = u.Hash,
                    ["machineID"] = u.Machine,
                    ["systemdLoadState"] = "loaded",
                    ["systemdActiveState"] = u.Current == "launched" ? "active" : "inactive",
                    ["systemdSubState"] = u.Current == "launched" ? "running" : "dead",
                })
                .ToList();
            await PageAsync(context, "states", states);
        }
        else if (path == "/fleet/v1/machines" && HttpMethods.IsGet(request.Method))
        {
            var machines = Machines.Select((m, i) => (JsonNode)new JsonObject { ["id"] = m, ["primaryIP"] = $"10.0.0.{i + 1}", ["metadata"] = new JsonObject() }).ToList();
            await PageAsync(context, "machines", machines);
        }
        else
        {
            await ErrorAsync(context, 404, "not found");
        }
    }

    private async Task UnitAsync(HttpContext context, string name)
    {
        var request = context.Request;
        if (HttpMethods.IsGet(request.Method))
        {
            string? json;
            lock (_gate)
            {
                json = _units.TryGetValue(name, out var found) ? UnitJson(found).ToJsonString() : null;
            }

            if (json is null)
            {
                await ErrorAsync(context, 404, "unit does not exist");
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(json);
            return;
        }

        if (HttpMethods.IsDelete(request.Method))
        {
            bool removed;
            lock (_gate)
            {
                removed = _units.Remove(name);

                // A machine may have become free for a unit that waited for one.
                foreach (var waiting in _units.Values.Where(u => u.Machine is null && u.Desired != "inactive"))
                {
                    Schedule(waiting);
                }
            }

            if (removed)
            {
                context.Response.StatusCode = 204;
            }
            else
            {
                await ErrorAsync(context, 404, "unit does not exist");
            }

            return;
        }

        if (!HttpMethods.IsPut(request.Method))
        {
            await ErrorAsync(context, 405, "only GET, PUT and DELETE are allowed");
            return;
        }

        if (request.ContentType is null || !request.ContentType.StartsWith("application/json", StringComparison.Ordinal))
        {
            await ErrorAsync(context, 415, "Content-Type must be application/json");
            return;
        }

        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body);
        }
        catch (JsonException)
        {
            await ErrorAsync(context, 400, "invalid JSON");
            return;
        }

        var desired = body?["desiredState"]?.GetValue<string>();
        var optionsNode = body?["options"] as JsonArray;
        if (desired is not null && !States.Contains(desired))
        {
            await ErrorAsync(context, 400, $"invalid desiredState: {desired}");
            return;
        }

        var (status, message) = Apply(name, desired, optionsNode);
        if (message is not null)
        {
            await ErrorAsync(context, status, message);
            return;
        }

        context.Response.StatusCode = status;
    }

    private (int Status, string? Message) Apply(string name, string? desired, JsonArray? optionsNode)
    {
        lock (_gate)
        {
            if (_units.TryGetValue(name, out var existing))
            {
                // An existing unit takes only a new desired state; options in the request are ignored.
                if (desired is null)
                {
                    return (409, "unit already exists, and no desiredState was given");
                }

                if (IsTemplate(name) && desired != "inactive")
                {
                    return (400, "a template unit can only be inactive");
                }

                existing.Desired = desired;
                Schedule(existing);
                return (204, null);
            }

            if (optionsNode is null || optionsNode.Count == 0)
            {
                return (409, "unit does not exist and options were not given");
            }

            var options = new List<Option>();
            foreach (var o in optionsNode)
            {
                if (o?["section"]?.GetValue<string>() is not { Length: > 0 } section || o["name"]?.GetValue<string>() is not { Length: > 0 } key || o["value"]?.GetValue<string>() is not { } value)
                {
                    return (400, "every option needs section, name and value");
                }

                options.Add(new Option(section, key, value));
            }

            if (!name.EndsWith(".service", StringComparison.Ordinal) || name.Contains('/', StringComparison.Ordinal))
            {
                return (400, $"invalid unit name {name}");
            }

            desired ??= "launched";
            if (IsTemplate(name) && desired != "inactive")
            {
                return (400, "a template unit can only be inactive");
            }

            var unit = new Unit(name, options, desired);
            _units[name] = unit;
            Schedule(unit);
            return (201, null);
        }
    }

    /// <summary>The engine and the agents at once: place on a machine without a conflict, and run as desired.</summary>
    private void Schedule(Unit unit)
    {
        if (unit.Desired == "inactive")
        {
            unit.Machine = null;
            unit.Current = "inactive";
            return;
        }

        if (unit.Machine is null)
        {
            var conflicts = unit.Options.Where(o => o.Section == "X-Fleet" && o.Name == "Conflicts")
                .SelectMany(o => o.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
            unit.Machine = Machines.FirstOrDefault(m => !_units.Values.Any(other =>
                other != unit && other.Machine == m && conflicts.Any(c => Glob(c, other.Name))));
        }

        unit.Current = unit.Machine is null ? "inactive" : unit.Desired;
    }

    private static bool Glob(string pattern, string name)
    {
        var star = pattern.IndexOf('*', StringComparison.Ordinal);
        return star < 0
            ? pattern == name
            : name.StartsWith(pattern[..star], StringComparison.Ordinal) && name.EndsWith(pattern[(star + 1)..], StringComparison.Ordinal);
    }

    private static bool IsTemplate(string name) => name.Contains("@.", StringComparison.Ordinal);

    private List<Unit> Snapshot()
    {
        lock (_gate)
        {
            return [.. _units.Values.Select(u => u.Copy())];
        }
    }

    private static JsonObject UnitJson(Unit u) => new()
    {
        ["name"] = u.Name,
        ["options"] = new JsonArray([.. u.Options.Select(o => (JsonNode)new JsonObject { ["section"] = o.Section, ["name"] = o.Name, ["value"] = o.Value })]),
        ["desiredState"] = u.Desired,
        ["currentState"] = u.Current,
        ["machineID"] = u.Machine,
    };

    /// <summary>One page of <see cref="PageSize"/> entries; the token is the offset of the next page.</summary>
    private async Task PageAsync(HttpContext context, string field, List<JsonNode> all)
    {
        var offset = 0;
        var token = context.Request.Query["nextPageToken"].ToString();
        if (token.Length > 0)
        {
            try
            {
                offset = int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)), System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (FormatException)
            {
                await ErrorAsync(context, 400, "invalid value for nextPageToken");
                return;
            }
        }

        var page = new JsonObject { [field] = new JsonArray([.. all.Skip(offset).Take(PageSize)]) };
        if (offset + PageSize < all.Count)
        {
            page["nextPageToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes((offset + PageSize).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(page.ToJsonString());
    }

    private static async Task ErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["error"] = new JsonObject { ["code"] = status, ["message"] = message } }.ToJsonString());
    }

    private sealed record Option(string Section, string Name, string Value);

    private sealed class Unit(string name, List<Option> options, string desired)
    {
        public string Name { get; } = name;

        public List<Option> Options { get; } = options;

        public string Desired { get; set; } = desired;

        public string Current { get; set; } = "inactive";

        public string? Machine { get; set; }

        /// <summary>SHA1 of the unit file, as fleet's state reports it.</summary>
#pragma warning disable CA5350 // fleet's own choice of hash, reproduced, not used for security
        public string Hash => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(
            Options.GroupBy(o => o.Section).Select(g => $"[{g.Key}]\n" + string.Concat(g.Select(o => $"{o.Name}={o.Value}\n")))))));
#pragma warning restore CA5350

        public Unit Copy() => new(Name, Options, Desired) { Current = Current, Machine = Machine };
    }
}
