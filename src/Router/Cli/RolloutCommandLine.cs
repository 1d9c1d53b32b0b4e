using System.Net;
using Router.Registry.CommandLine;
using Router.Registry.Validation;
using Router.Rollout;

namespace Router.Cli;

/// <summary>
/// Reads <c>router rollout NAME [options]</c> with the shared <see cref="OptionReader"/>. The etcd options are the
/// router's own (same names, same <c>ROUTER_*</c> environment variables, same checks); every problem is reported
/// on one line naming the option.
/// </summary>
internal static class RolloutCommandLine
{
    public const string Usage = """
        Usage: router rollout NAME [--to VERSION | --image IMAGE] [options]
               router rollout NAME --resume | --undo | --status

        Replaces every instance of NAME (NAME@N + its sidekick NAME-presence@N) with the new version, new
        instances first: each must run, be registered in etcd with a live lease and stay up in the routers'
        view for --min-healthy seconds before an old one is withdrawn, drained and stopped. Where no extra
        instance can be placed, one instance at a time is replaced in place. One rollout per service (an etcd
        lock); the plan and every step are recorded under --rollout-prefix/NAME.

        Options:
          --to VERSION               the version to roll out (the process scheduler's {version})
          --image IMAGE              the same, for fleet units: the value of their Environment=*_IMAGE=
          --resume                   continue the recorded rollout
          --undo                     go back to the recorded old version (same safety rules)
          --status                   print the record and exit
          --surge N                  new instances started ahead; 0 = in place      [1]
          --min-healthy SECONDS      time a new instance must stay up in the routers [10]
          --deadline SECONDS         time a new instance may take to get ready      [300]
          --drain SECONDS            time for an old instance's requests to finish  [5]
          --lock-ttl SECONDS         lease of the lock (a killed rollout blocks this long) [15]
          --fleet URL|unix:PATH      fleet's API v1                                 [unix:/var/run/fleet.sock]
          --processes DIR            local processes (DIR/unit.json) instead of fleet
          --router-admin ADDR:PORT,..  routers whose /status decides "reachable"    [127.0.0.1:9090]
          --json                     JSON lines even on a terminal
          --etcd URLS                etcd endpoints, comma-separated               [http://127.0.0.1:2379]
          --prefix PATH              registry prefix                               [/services]
          --rollout-prefix PATH      where locks and records live                  [/rollouts]
          --etcd-ca FILE --etcd-cert FILE --etcd-key FILE --etcd-user USER --etcd-password-file FILE
                                     etcd TLS and auth, as for the router
          --help                     this text

        Exit codes: 0 done, 1 failed (recorded; see --status), 2 bad options, 3 another rollout holds the lock.
        """;

    private static readonly OptionTable Table = new()
    {
        Values =
        [
            "to", "image", "surge", "min-healthy", "deadline", "drain", "lock-ttl", "fleet", "processes", "router-admin",
            "rollout-prefix", .. OptionTable.EtcdFamily,
        ],
        Switches = ["resume", "undo", "status", "json"],
        Positionals = 1,
        EnvironmentPrefix = "ROUTER_",
        FromEnvironment = OptionTable.EtcdFamily,
        HelpCommand = "router rollout --help",
    };

    private static readonly string[] Actions = ["resume", "undo", "status"];

    internal sealed record Result(RolloutOptions? Options, IReadOnlyList<string> Errors, bool Help);

    public static Result Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        var reader = OptionReader.Parse(Table, args, name => environment.GetValueOrDefault(name));
        if (reader.Help)
        {
            return new Result(null, [], Help: true);
        }

        var options = Build(reader);
        return reader.Errors.Count > 0 ? new Result(null, reader.Errors, Help: false) : new Result(options, [], Help: false);
    }

    private static RolloutOptions? Build(OptionReader reader)
    {
        var errors = reader.Errors;
        var service = reader.Positionals.Count > 0 ? reader.Positionals[0] : null;
        if (service is null)
        {
            errors.Add("NAME: the service to roll out is missing (router rollout NAME --to VERSION)");
        }
        else if (!ServiceName.IsValid(service))
        {
            errors.Add($"NAME: '{OptionReader.Printable(service)}' is not a service name (a DNS label like web)");
        }

        var actions = Actions.Where(reader.Switch).ToList();
        if (actions.Count > 1)
        {
            errors.Add($"--{actions[1]}: cannot be combined with --{actions[0]}");
        }

        var action = actions.Count == 0 ? RolloutAction.Start : actions[0] switch
        {
            "resume" => RolloutAction.Resume,
            "undo" => RolloutAction.Undo,
            _ => RolloutAction.Status,
        };

        string? to = null;
        if (reader.Get("to") is not null && reader.Get("image") is not null)
        {
            errors.Add("--image: give --to or --image, not both");
        }

        if ((reader.Get("to") ?? reader.Get("image")) is { } toValue)
        {
            to = toValue.Text.Trim();
            if (to.Length == 0 || to.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                reader.Fail(toValue, "is not a version (no spaces)");
            }

            if (action != RolloutAction.Start)
            {
                errors.Add($"{toValue.Label}: not with --{actions[0]} (the record says the version)");
            }
        }
        else if (action == RolloutAction.Start)
        {
            errors.Add("--to: the version to roll out is missing (or --resume, --undo, --status)");
        }

        var defaults = new RolloutOptions { Service = "" };
        string? fleet = null;
        if (reader.Get("fleet") is { } fleetValue)
        {
            fleet = fleetValue.Text;
            if (!(fleet.StartsWith("unix:/", StringComparison.Ordinal)
                || (Uri.TryCreate(fleet, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))))
            {
                reader.Fail(fleetValue, "is not unix:/PATH or an http URL");
            }
        }

        string? processes = null;
        if (reader.Get("processes") is { } processesValue)
        {
            processes = processesValue.Text;
            if (!File.Exists(Path.Combine(processes, "unit.json")))
            {
                reader.Fail(processesValue, "has no unit.json");
            }

            if (fleet is not null)
            {
                errors.Add("--processes: give --fleet or --processes, not both");
            }
        }

        var prefix = reader.Prefix("prefix", defaults.Prefix);
        var rolloutPrefix = reader.Prefix("rollout-prefix", defaults.RolloutPrefix);
        if (rolloutPrefix == prefix || rolloutPrefix.StartsWith(prefix + "/", StringComparison.Ordinal))
        {
            errors.Add($"--rollout-prefix: '{rolloutPrefix}' is inside the registry prefix {prefix}, where routers would read it");
        }

        // Every value is read (and every problem found) even without a NAME.
        var options = new RolloutOptions
        {
            Service = service?.ToLowerInvariant() ?? "",
            To = to,
            Action = action,
            Surge = (int?)reader.WholeNumber("surge", 0, 100) ?? defaults.Surge,
            MinHealthy = reader.Seconds("min-healthy", 0, 3600, defaults.MinHealthy),
            Deadline = reader.Seconds("deadline", 1, 86400, defaults.Deadline),
            Drain = reader.Seconds("drain", 0, 3600, defaults.Drain),
            LockTtlSeconds = (int?)reader.WholeNumber("lock-ttl", 2, 3600) ?? defaults.LockTtlSeconds,
            Fleet = fleet,
            Processes = processes,
            RouterAdmins = reader.List<IPEndPoint>("router-admin", OptionReader.TryEndpoint, "ADDR:PORT (like 127.0.0.1:9090)", noneGiven: "router admin address") ?? defaults.RouterAdmins,
            Etcd = reader.Etcd(required: false),
            Prefix = prefix,
            RolloutPrefix = rolloutPrefix,
            Json = reader.Switch("json"),
        };
        return service is null ? null : options;
    }
}
