using System.Globalization;
using System.Net;
using Router.Hosting;
using Router.Registry.Etcd;
using Router.Registry.Validation;
using Router.Rollout;

namespace Router.Cli;

/// <summary>
/// Reads <c>router rollout NAME [options]</c>. The etcd options are the router's own (same names, same
/// <c>ROUTER_*</c> environment variables, same checks); every problem is reported on one line naming the option.
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

    private static readonly string[] ValueNames =
    [
        "to", "image", "surge", "min-healthy", "deadline", "drain", "lock-ttl", "fleet", "processes", "router-admin",
        "etcd", "prefix", "rollout-prefix", "etcd-ca", "etcd-cert", "etcd-key", "etcd-user", "etcd-password-file",
    ];

    private static readonly string[] FlagNames = ["resume", "undo", "status", "json"];

    // The options the router also reads from its environment.
    private static readonly string[] EnvironmentNames = ["etcd", "prefix", "etcd-ca", "etcd-cert", "etcd-key", "etcd-user", "etcd-password-file"];

    internal sealed record Result(RolloutOptions? Options, IReadOnlyList<string> Errors, bool Help);

    public static Result Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        var errors = new List<string>();
        var values = new Dictionary<string, (string Value, string Source)>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        string? service = null;

        foreach (var name in EnvironmentNames)
        {
            if (environment.TryGetValue(RouterCommandLine.EnvName(name), out var value) && value is not null)
            {
                values[name] = (value, RouterCommandLine.EnvName(name));
            }
        }

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                return new Result(null, [], Help: true);
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (service is null)
                {
                    service = arg;
                }
                else
                {
                    errors.Add($"'{arg}': unexpected argument (one service name only; options start with --)");
                }

                continue;
            }

            var name = arg[2..];
            string? inline = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }

            if (FlagNames.Contains(name))
            {
                if (inline is not null)
                {
                    errors.Add($"--{name}: takes no value");
                }

                flags.Add(name);
                continue;
            }

            if (name == "etcd-password")
            {
                errors.Add("--etcd-password: not accepted on the command line, where every local user can read it; use ROUTER_ETCD_PASSWORD or --etcd-password-file");
                if (inline is null)
                {
                    i++;
                }

                continue;
            }

            if (!ValueNames.Contains(name))
            {
                errors.Add($"--{name}: unknown option (see router rollout --help)");
                if (inline is null && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    i++;
                }

                continue;
            }

            if (inline is null)
            {
                if (i + 1 >= args.Count)
                {
                    errors.Add($"--{name}: needs a value");
                    continue;
                }

                inline = args[++i];
            }

            values[name] = (inline, "--" + name);
        }

        var options = Build(service, values, flags, environment, errors);
        return errors.Count > 0 ? new Result(null, errors, Help: false) : new Result(options, [], Help: false);
    }

    private static RolloutOptions? Build(string? service, Dictionary<string, (string Value, string Source)> values, HashSet<string> flags, IReadOnlyDictionary<string, string?> environment, List<string> errors)
    {
        if (service is null)
        {
            errors.Add("NAME: the service to roll out is missing (router rollout NAME --to VERSION)");
        }
        else if (!ServiceName.IsValid(service))
        {
            errors.Add($"NAME: '{service}' is not a service name (a DNS label like web)");
        }

        var actions = flags.Where(f => f is "resume" or "undo" or "status").ToList();
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
        if (values.TryGetValue("to", out var toValue) && values.TryGetValue("image", out _))
        {
            errors.Add("--image: give --to or --image, not both");
        }

        if (values.TryGetValue("to", out toValue) || values.TryGetValue("image", out toValue))
        {
            to = toValue.Value.Trim();
            if (to.Length == 0 || to.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                errors.Add($"{toValue.Source}: '{toValue.Value}' is not a version (no spaces)");
            }

            if (action != RolloutAction.Start)
            {
                errors.Add($"{toValue.Source}: not with --{actions[0]} (the record says the version)");
            }
        }
        else if (action == RolloutAction.Start)
        {
            errors.Add("--to: the version to roll out is missing (or --resume, --undo, --status)");
        }

        var defaults = new RolloutOptions { Service = "" };
        var surge = Number(values, "surge", 0, 100, defaults.Surge, errors);
        var minHealthy = Seconds(values, "min-healthy", 0, 3600, defaults.MinHealthy, errors);
        var deadline = Seconds(values, "deadline", 1, 86400, defaults.Deadline, errors);
        var drain = Seconds(values, "drain", 0, 3600, defaults.Drain, errors);
        var lockTtl = Number(values, "lock-ttl", 2, 3600, defaults.LockTtlSeconds, errors);

        string? fleet = null;
        if (values.TryGetValue("fleet", out var fleetValue))
        {
            fleet = fleetValue.Value;
            if (!(fleet.StartsWith("unix:/", StringComparison.Ordinal)
                || (Uri.TryCreate(fleet, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))))
            {
                errors.Add($"{fleetValue.Source}: '{fleet}' is not unix:/PATH or an http URL");
            }
        }

        string? processes = null;
        if (values.TryGetValue("processes", out var processesValue))
        {
            processes = processesValue.Value;
            if (!File.Exists(Path.Combine(processes, "unit.json")))
            {
                errors.Add($"{processesValue.Source}: '{processes}' has no unit.json");
            }

            if (fleet is not null)
            {
                errors.Add("--processes: give --fleet or --processes, not both");
            }
        }

        var admins = defaults.RouterAdmins;
        if (values.TryGetValue("router-admin", out var adminValue))
        {
            var list = new List<IPEndPoint>();
            foreach (var part in adminValue.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (IPEndPoint.TryParse(part, out var endpoint) && endpoint.Port > 0)
                {
                    list.Add(endpoint);
                }
                else
                {
                    errors.Add($"{adminValue.Source}: '{part}' is not ADDR:PORT (like 127.0.0.1:9090)");
                }
            }

            if (list.Count == 0 && !errors.Any(e => e.StartsWith(adminValue.Source, StringComparison.Ordinal)))
            {
                errors.Add($"{adminValue.Source}: no router admin address given");
            }

            admins = list;
        }

        var etcd = defaults.Etcd;
        if (values.TryGetValue("etcd", out var etcdValue))
        {
            etcd = etcd with { Endpoints = EtcdOptions.ParseEndpoints(etcdValue.Value, etcdValue.Source, errors) };
        }

        etcd = RouterCommandLine.EtcdSecurity(etcd, values, environment, errors);
        var prefix = KeyPrefix(values, "prefix", defaults.Prefix, errors);
        var rolloutPrefix = KeyPrefix(values, "rollout-prefix", defaults.RolloutPrefix, errors);
        if (rolloutPrefix == prefix || rolloutPrefix.StartsWith(prefix + "/", StringComparison.Ordinal))
        {
            errors.Add($"--rollout-prefix: '{rolloutPrefix}' is inside the registry prefix {prefix}, where routers would read it");
        }

        return service is null ? null : new RolloutOptions
        {
            Service = service.ToLowerInvariant(),
            To = to,
            Action = action,
            Surge = surge,
            MinHealthy = minHealthy,
            Deadline = deadline,
            Drain = drain,
            LockTtlSeconds = lockTtl,
            Fleet = fleet,
            Processes = processes,
            RouterAdmins = admins,
            Etcd = etcd,
            Prefix = prefix,
            RolloutPrefix = rolloutPrefix,
            Json = flags.Contains("json"),
        };
    }

    private static int Number(Dictionary<string, (string Value, string Source)> values, string name, int min, int max, int fallback, List<string> errors)
    {
        if (!values.TryGetValue(name, out var v))
        {
            return fallback;
        }

        if (int.TryParse(v.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
        {
            return n;
        }

        errors.Add($"{v.Source}: '{v.Value}' is not a number from {min} to {max}");
        return fallback;
    }

    private static TimeSpan Seconds(Dictionary<string, (string Value, string Source)> values, string name, double min, double max, TimeSpan fallback, List<string> errors)
    {
        if (!values.TryGetValue(name, out var v))
        {
            return fallback;
        }

        if (double.TryParse(v.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= min && s <= max)
        {
            return TimeSpan.FromSeconds(s);
        }

        errors.Add($"{v.Source}: '{v.Value}' is not a number of seconds from {min} to {max}");
        return fallback;
    }

    private static string KeyPrefix(Dictionary<string, (string Value, string Source)> values, string name, string fallback, List<string> errors)
    {
        if (!values.TryGetValue(name, out var v))
        {
            return fallback;
        }

        var p = v.Value.Trim().TrimEnd('/');
        if (p.Length == 0 || p[0] != '/' || p.Contains("//", StringComparison.Ordinal) || p.Any(char.IsWhiteSpace))
        {
            errors.Add($"{v.Source}: '{v.Value}' is not a key prefix like {fallback}");
            return fallback;
        }

        return p;
    }
}
