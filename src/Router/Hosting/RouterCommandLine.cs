using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Router.Registry;
using Router.Registry.Etcd;
using Router.Registry.Validation;
using Serilog.Events;

namespace Router.Hosting;

/// <summary>
/// Reads the router's options from, in rising priority, appsettings.json (section <c>Router</c>), the
/// environment (<c>ROUTER_ETCD</c>, <c>ROUTER_DNS_UPSTREAM</c>, …) and the command line. Every bad value is
/// reported, each on one line that names the option and where it came from.
/// </summary>
internal static class RouterCommandLine
{
    public const string Usage = """
        Usage: router [options]

        Routes HTTP (by Host, then by path) and TCP to the services registered in etcd, answers DNS for the
        cluster zone, and reports its state on a loopback admin port.

        Options (each also as environment variable ROUTER_<NAME>, e.g. ROUTER_DNS_UPSTREAM, or as
        "Router": { "DnsUpstream": ... } in appsettings.json beside the executable):
          --etcd URLS                 etcd endpoints, comma-separated      [http://127.0.0.1:2379]
          --prefix PATH               registry prefix                       [/services]
          --http ADDR:PORT            shared HTTP port                      [0.0.0.0:80]
          --https ADDR:PORT           HTTPS port, TLS by SNI from --certs   [off]
          --certs DIR                 NAME.crt + NAME.key pairs (PEM), re-read on change
          --tcp-bind ADDR             address of host_port listeners        [0.0.0.0]
          --admin ADDR:PORT           status, health and metrics            [127.0.0.1:9090]
          --dns ADDR:PORT|off         DNS responder                         [172.17.42.1:53]
          --dns-zone NAME             zone answered with this node          [local]
          --dns-answer IP             address given for the zone            [the --dns address]
          --dns-upstream IP[:PORT],.. resolvers for every other name        [8.8.8.8,8.8.4.4]
          --internal-networks CIDR,.. clients allowed private services/DNS [127.0.0.0/8,::1/128,172.17.0.0/16,10.0.0.0/8]
          --trusted-proxies CIDR,..   load balancers whose X-Forwarded-Proto/-For are believed [none]
          --drain-timeout SECONDS     how long requests in flight may finish [10]
          --shutdown-delay SECONDS    after SIGTERM: not ready, still accepting [0]
          --tcp-idle-timeout SECONDS  close a TCP relay silent this long      [3600]
          --tcp-max-connections N     open TCP relays per host_port         [10000]
                                      (lowered, with a warning, to what the open-file limit allows)
          --max-http-connections N    open HTTP connections per port        [from the open-file limit]
          --client-idle-timeout SECONDS  close a kept-alive client connection idle this long [75]
          --request-head-timeout SECONDS longest a client may take to send a request head   [30]
          --max-request-body BYTES|off   larger request bodies get 413                      [off]
          --return-memory MB|off         after a burst of connections has passed, give memory
                                         back to the system once the process grew this much [16]
          --state-file PATH           last good table, for a start while etcd is away [off]
          --backend-timeout SECONDS   longest silence of a backend in a request [100]
          --http-forwarder direct|yarp  requests without a body: the router's own
                                      HTTP/1.1 path, or YARP for all          [direct]
          --etcd-ca FILE --etcd-cert FILE --etcd-key FILE --etcd-user USER
                                      etcd TLS and auth; the password comes from ROUTER_ETCD_PASSWORD
                                      or --etcd-password-file FILE, never from the command line
          --log-level LEVEL           debug, information, warning or error   [information]
          --access-log off|stdout|PATH  one JSON line per request             [off]
          --access-log-sample N       log 1 request in N                     [1]
          --help                      this text

        Subcommands: router check (the registry's problems and host_port plan), router status (a running
        router's /status for a terminal), router rollout (rolling update); each has --help.

        Exit codes: 0 stopped cleanly, 1 failed while running, 2 bad options.
        """;

    /// <summary>Every option's name (without <c>--</c>); docs/reference.md lists each (ReferenceDocTests).</summary>
    internal static readonly string[] Names =
    [
        "etcd", "prefix", "http", "https", "certs", "tcp-bind", "admin", "dns", "dns-zone", "dns-answer",
        "dns-upstream", "internal-networks", "drain-timeout", "shutdown-delay", "tcp-idle-timeout", "tcp-max-connections", "max-http-connections", "client-idle-timeout", "request-head-timeout", "max-request-body", "return-memory", "state-file", "http-forwarder", "backend-timeout", "etcd-ca", "etcd-cert", "etcd-key",
        "etcd-user", "etcd-password-file", "log-level", "access-log", "access-log-sample",
        "trusted-proxies",
    ];

    /// <summary>The outcome of parsing: options, or the errors to print, or a request for help.</summary>
    internal sealed record Result(RouterOptions? Options, IReadOnlyList<string> Errors, bool Help);

    public static Result Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment, IConfiguration? settings)
    {
        var errors = new List<string>();
        var values = new Dictionary<string, (string Value, string Source)>(StringComparer.Ordinal);

        if (settings is not null)
        {
            foreach (var name in Names)
            {
                var value = settings[$"Router:{ConfigKey(name)}"];
                if (value is not null)
                {
                    values[name] = (value, $"Router:{ConfigKey(name)} in appsettings.json");
                }
            }
        }

        foreach (var name in Names)
        {
            if (environment.TryGetValue(EnvName(name), out var value) && value is not null)
            {
                values[name] = (value, EnvName(name));
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
                errors.Add($"'{arg}': unexpected argument (options start with --; see --help)");
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

            if (name == "etcd-password")
            {
                errors.Add("--etcd-password: not accepted on the command line, where every local user can read it; use ROUTER_ETCD_PASSWORD or --etcd-password-file");
                if (inline is null)
                {
                    i++;
                }

                continue;
            }

            if (!Names.Contains(name))
            {
                errors.Add($"--{name}: unknown option (see --help)");

                // Its value, if it has one, is not a second error.
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

        var options = Build(values, environment, errors);
        return errors.Count > 0 ? new Result(null, errors, Help: false) : new Result(options, [], Help: false);
    }

    public static string EnvName(string option) => "ROUTER_" + option.ToUpperInvariant().Replace('-', '_');

    private static string ConfigKey(string option) =>
        string.Concat(option.Split('-').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));

    private static RouterOptions Build(Dictionary<string, (string Value, string Source)> values, IReadOnlyDictionary<string, string?> environment, List<string> errors)
    {
        var defaults = new RouterOptions();
        var options = defaults;

        if (values.TryGetValue("etcd", out var etcd))
        {
            options = options with { Etcd = options.Etcd with { Endpoints = EtcdOptions.ParseEndpoints(etcd.Value, etcd.Source, errors) } };
        }

        if (values.TryGetValue("prefix", out var prefix))
        {
            if (!RegistryLayout.TryNormalizePrefix(prefix.Value, out var p, out var why))
            {
                errors.Add($"{prefix.Source}: '{prefix.Value}' is not a key prefix like /services ({why})");
            }
            else
            {
                options = options with { Prefix = p };
            }
        }

        options = options with
        {
            Http = Endpoint(values, "http", errors) ?? defaults.Http,
            Https = Endpoint(values, "https", errors),
            Admin = Endpoint(values, "admin", errors) ?? defaults.Admin,
        };

        if (values.TryGetValue("certs", out var certs))
        {
            if (!Directory.Exists(certs.Value))
            {
                errors.Add($"{certs.Source}: folder '{certs.Value}' does not exist");
            }

            options = options with { CertsDirectory = certs.Value };
        }

        if (options.Https is not null && options.CertsDirectory is null)
        {
            errors.Add($"{values["https"].Source}: needs --certs, the folder of PEM certificates (NAME.crt + NAME.key)");
        }

        if (values.TryGetValue("tcp-bind", out var tcpBind))
        {
            if (IPAddress.TryParse(tcpBind.Value, out var address))
            {
                options = options with { TcpBind = address };
            }
            else
            {
                errors.Add($"{tcpBind.Source}: '{tcpBind.Value}' is not an IP address");
            }
        }

        if (values.TryGetValue("dns", out var dns))
        {
            options = dns.Value.Equals("off", StringComparison.OrdinalIgnoreCase)
                ? options with { Dns = null }
                : options with { Dns = Endpoint(values, "dns", errors) };
        }

        if (values.TryGetValue("dns-zone", out var zone))
        {
            var z = zone.Value.Trim().TrimEnd('.').ToLowerInvariant();
            if (z.Length == 0 || z.Length > 253 || !z.Split('.').All(l => ServiceName.IsValid(l)))
            {
                errors.Add($"{zone.Source}: '{zone.Value}' is not a DNS zone name like local");
            }
            else
            {
                options = options with { DnsZone = z };
            }
        }

        if (values.TryGetValue("dns-answer", out var answer))
        {
            if (IPAddress.TryParse(answer.Value, out var address) && answer.Value.Count(c => c == '.') is 3 or 0)
            {
                options = options with { DnsAnswer = address };
            }
            else
            {
                errors.Add($"{answer.Source}: '{answer.Value}' is not an IP address");
            }
        }

        if (values.TryGetValue("dns-upstream", out var upstream))
        {
            var list = new List<IPEndPoint>();
            foreach (var part in upstream.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                // A bare address means port 53; an explicit ":0" is a mistake.
                if (IPEndPoint.TryParse(part, out var ep) && !part.EndsWith(":0", StringComparison.Ordinal))
                {
                    list.Add(ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep);
                }
                else
                {
                    errors.Add($"{upstream.Source}: '{part}' is not IP or IP:PORT");
                }
            }

            if (list.Count == 0 && !errors.Any(e => e.StartsWith(upstream.Source, StringComparison.Ordinal)))
            {
                errors.Add($"{upstream.Source}: no upstream resolver given");
            }

            options = options with { DnsUpstream = list };
        }

        if (values.TryGetValue("internal-networks", out var networks))
        {
            var list = new List<IPNetwork>();
            foreach (var part in networks.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (IPNetwork.TryParse(part, out var network))
                {
                    list.Add(network);
                }
                else
                {
                    errors.Add($"{networks.Source}: '{part}' is not a network like 10.0.0.0/8");
                }
            }

            options = options with { InternalNetworks = list };
        }

        if (values.TryGetValue("trusted-proxies", out var trusted))
        {
            var list = new List<IPNetwork>();
            foreach (var part in trusted.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (IPNetwork.TryParse(part, out var network))
                {
                    list.Add(network);
                }
                else
                {
                    errors.Add($"{trusted.Source}: '{part}' is not a network like 10.0.0.0/8");
                }
            }

            options = options with { TrustedProxies = list };
        }

        if (values.TryGetValue("drain-timeout", out var drain))
        {
            if (double.TryParse(drain.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and <= 3600)
            {
                options = options with { DrainTimeout = TimeSpan.FromSeconds(seconds) };
            }
            else
            {
                errors.Add($"{drain.Source}: '{drain.Value}' is not a number of seconds from 0 to 3600");
            }
        }

        if (values.TryGetValue("shutdown-delay", out var delay))
        {
            if (double.TryParse(delay.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and <= 600)
            {
                options = options with { ShutdownDelay = TimeSpan.FromSeconds(seconds) };
            }
            else
            {
                errors.Add($"{delay.Source}: '{delay.Value}' is not a number of seconds from 0 to 600");
            }
        }

        if (values.TryGetValue("backend-timeout", out var backendTimeout))
        {
            if (double.TryParse(backendTimeout.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0.1 and <= 86400)
            {
                options = options with { BackendTimeout = TimeSpan.FromSeconds(seconds) };
            }
            else
            {
                errors.Add($"{backendTimeout.Source}: '{backendTimeout.Value}' is not a number of seconds from 0.1 to 86400");
            }
        }

        if (values.TryGetValue("tcp-idle-timeout", out var idle))
        {
            if (double.TryParse(idle.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 7 * 86400)
            {
                options = options with { TcpIdleTimeout = TimeSpan.FromSeconds(seconds) };
            }
            else
            {
                errors.Add($"{idle.Source}: '{idle.Value}' is not a number of seconds from 1 to 604800");
            }
        }

        if (values.TryGetValue("tcp-max-connections", out var max))
        {
            if (int.TryParse(max.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is >= 1 and <= 1_000_000)
            {
                options = options with { TcpMaxConnections = count };
            }
            else
            {
                errors.Add($"{max.Source}: '{max.Value}' is not a number from 1 to 1000000");
            }
        }

        if (values.TryGetValue("max-http-connections", out var maxHttp))
        {
            if (int.TryParse(maxHttp.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is >= 1 and <= 1_000_000)
            {
                options = options with { MaxHttpConnections = count };
            }
            else
            {
                errors.Add($"{maxHttp.Source}: '{maxHttp.Value}' is not a number from 1 to 1000000");
            }
        }

        if (values.TryGetValue("client-idle-timeout", out var clientIdle))
        {
            if (double.TryParse(clientIdle.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 86400)
            {
                options = options with { ClientIdleTimeout = TimeSpan.FromSeconds(seconds) };
            }
            else
            {
                errors.Add($"{clientIdle.Source}: '{clientIdle.Value}' is not a number of seconds from 1 to 86400");
            }
        }

        if (values.TryGetValue("request-head-timeout", out var headTimeout))
        {
            if (double.TryParse(headTimeout.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 3600)
            {
                options = options with { RequestHeadTimeout = TimeSpan.FromSeconds(seconds) };
            }
            else
            {
                errors.Add($"{headTimeout.Source}: '{headTimeout.Value}' is not a number of seconds from 1 to 3600");
            }
        }

        if (values.TryGetValue("return-memory", out var returnMemory))
        {
            if (returnMemory.Value.Trim().Equals("off", StringComparison.OrdinalIgnoreCase))
            {
                options = options with { ReturnMemoryThreshold = null };
            }
            else if (int.TryParse(returnMemory.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var megabytes) && megabytes is >= 1 and <= 65536)
            {
                options = options with { ReturnMemoryThreshold = megabytes * 1024L * 1024 };
            }
            else
            {
                errors.Add($"{returnMemory.Source}: '{returnMemory.Value}' is not a number of megabytes from 1 to 65536, or off");
            }
        }

        if (values.TryGetValue("max-request-body", out var maxBody))
        {
            if (maxBody.Value.Trim().Equals("off", StringComparison.OrdinalIgnoreCase))
            {
                options = options with { MaxRequestBodySize = null };
            }
            else if (long.TryParse(maxBody.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes >= 1)
            {
                options = options with { MaxRequestBodySize = bytes };
            }
            else
            {
                errors.Add($"{maxBody.Source}: '{maxBody.Value}' is not a number of bytes (1 or more) or off");
            }
        }

        if (values.TryGetValue("log-level", out var level))
        {
            // Serilog's names, and the short ones operators type from other tools' habits.
            LogEventLevel? parsed = level.Value.Trim().ToLowerInvariant() switch
            {
                "verbose" or "trace" => LogEventLevel.Verbose,
                "debug" => LogEventLevel.Debug,
                "information" or "info" => LogEventLevel.Information,
                "warning" or "warn" => LogEventLevel.Warning,
                "error" => LogEventLevel.Error,
                "fatal" => LogEventLevel.Fatal,
                _ => null,
            };
            if (parsed is { } known)
            {
                options = options with { LogLevel = known };
            }
            else
            {
                errors.Add($"{level.Source}: '{level.Value}' is not debug, information, warning or error (or verbose, fatal)");
            }
        }

        if (values.TryGetValue("http-forwarder", out var forwarder))
        {
            switch (forwarder.Value.Trim().ToLowerInvariant())
            {
                case "direct":
                    options = options with { DirectForwarding = true };
                    break;
                case "yarp":
                    options = options with { DirectForwarding = false };
                    break;
                default:
                    errors.Add($"{forwarder.Source}: '{forwarder.Value}' is not direct or yarp");
                    break;
            }
        }

        if (values.TryGetValue("access-log", out var access))
        {
            var target = access.Value.Trim();
            if (target.Length == 0)
            {
                errors.Add($"{access.Source}: empty; give off, stdout or a file path");
            }
            else if (target is "off" or "stdout")
            {
                options = options with { AccessLog = target == "off" ? null : "stdout" };
            }
            else
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(target));
                if (dir is null || !Directory.Exists(dir))
                {
                    errors.Add($"{access.Source}: folder of '{target}' does not exist");
                }

                options = options with { AccessLog = target };
            }
        }

        if (values.TryGetValue("access-log-sample", out var sample))
        {
            if (int.TryParse(sample.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1)
            {
                options = options with { AccessLogSample = n };
            }
            else
            {
                errors.Add($"{sample.Source}: '{sample.Value}' is not a whole number of 1 or more (1 in N requests is logged)");
            }
        }

        if (values.TryGetValue("state-file", out var state))
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(state.Value));
            if (dir is null || !Directory.Exists(dir))
            {
                errors.Add($"{state.Source}: folder of '{state.Value}' does not exist");
            }

            options = options with { StateFile = state.Value };
        }

        options = options with { Etcd = EtcdSecurity(options.Etcd, values, environment, errors) };

        // The responder's own rules (e.g. a wildcard --dns needs --dns-answer), reported like the rest.
        if (options.ToDnsOptions() is { } dnsOptions && !errors.Any(e => e.Contains("dns", StringComparison.OrdinalIgnoreCase)))
        {
            errors.AddRange(dnsOptions.Validate());
        }

        // Two listeners on one port would fail at start with a less helpful message.
        if (options.Http.Port == options.Admin.Port && (options.Http.Address.Equals(options.Admin.Address) || options.Http.Address.Equals(IPAddress.Any) || options.Admin.Address.Equals(IPAddress.Any)))
        {
            errors.Add($"--admin: {options.Admin} is the same port as --http {options.Http}");
        }

        return options;
    }

    /// <summary>The etcd TLS and auth options (shared with <c>router rollout</c>).</summary>
    internal static EtcdOptions EtcdSecurity(EtcdOptions etcd, Dictionary<string, (string Value, string Source)> values, IReadOnlyDictionary<string, string?> environment, List<string> errors)
    {
        string? File(string name)
        {
            if (!values.TryGetValue(name, out var v))
            {
                return null;
            }

            if (!System.IO.File.Exists(v.Value))
            {
                errors.Add($"{v.Source}: file '{v.Value}' does not exist");
            }

            return v.Value;
        }

        etcd = etcd with { CaFile = File("etcd-ca"), CertFile = File("etcd-cert"), KeyFile = File("etcd-key") };
        if ((etcd.CertFile is null) != (etcd.KeyFile is null))
        {
            errors.Add("--etcd-cert: needs --etcd-key too (and the other way round)");
        }

        if (values.TryGetValue("etcd-user", out var user))
        {
            string? password = null;
            if (values.TryGetValue("etcd-password-file", out var passwordFile))
            {
                password = System.IO.File.Exists(passwordFile.Value) ? System.IO.File.ReadAllText(passwordFile.Value).TrimEnd('\r', '\n') : null;
                if (password is null)
                {
                    errors.Add($"{passwordFile.Source}: file '{passwordFile.Value}' does not exist");
                }
            }
            else if (environment.TryGetValue("ROUTER_ETCD_PASSWORD", out var fromEnv) && fromEnv is not null)
            {
                password = fromEnv;
            }
            else
            {
                errors.Add($"{user.Source}: needs a password in ROUTER_ETCD_PASSWORD or --etcd-password-file");
            }

            etcd = etcd with { User = user.Value, Password = password };
        }
        else if (values.TryGetValue("etcd-password-file", out var orphan))
        {
            errors.Add($"{orphan.Source}: needs --etcd-user (a password alone logs in as nobody)");
        }

        return etcd;
    }

    private static IPEndPoint? Endpoint(Dictionary<string, (string Value, string Source)> values, string name, List<string> errors)
    {
        if (!values.TryGetValue(name, out var v))
        {
            return null;
        }

        // ADDR:PORT with an explicit port; IPEndPoint.TryParse alone accepts a bare address with port 0.
        if (IPEndPoint.TryParse(v.Value, out var endpoint) && endpoint.Port is > 0 and <= 65535)
        {
            return endpoint;
        }

        errors.Add($"{v.Source}: '{v.Value}' is not ADDR:PORT (like 0.0.0.0:80 or [::]:80)");
        return null;
    }
}
