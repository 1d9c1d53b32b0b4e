using System.Net;
using Microsoft.Extensions.Configuration;
using Router.Registry.CommandLine;
using Router.Registry.Validation;
using Serilog.Events;

namespace Router.Hosting;

/// <summary>
/// Reads the router's options from, in rising priority, appsettings.json (section <c>Router</c>), the
/// environment (<c>ROUTER_ETCD</c>, <c>ROUTER_DNS_UPSTREAM</c>, …) and the command line, with the shared
/// <see cref="OptionReader"/>. Every bad value is reported, each on one line that names the option and where it came from.
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
          --tcp-relay epoll|sockets   TCP host_port relays on the router's own epoll loops,
                                      or on .NET's sockets (the way back)  [epoll]
          --http-transport epoll|sockets  the HTTP port on the router's own epoll loops,
                                      or on Kestrel's socket transport (the way back) [epoll]
          --max-http-connections N    open HTTP connections per port        [from the open-file limit]
          --client-idle-timeout SECONDS  close a kept-alive client connection idle this long [75]
          --request-head-timeout SECONDS longest a client may take to send a request head   [30]
          --max-request-body BYTES|off   larger request bodies get 413                      [off]
          --return-memory MB|off         after a burst of connections has passed, give memory
                                         back to the system once the process grew this much [16]
          --state-file PATH           last good table, for a start while etcd is away [off]
          --backend-timeout SECONDS   longest silence of a backend in a request [100]
          --http-forwarder direct|kestrel|yarp  requests without a body: the router's
                                      own HTTP/1.1 path (plain GET/HEAD taken below
                                      Kestrel's HTTP layer), the same path behind
                                      Kestrel only, or YARP for all           [direct]
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

    /// <summary>What the router's command line accepts; <c>router check</c> reads the same.</summary>
    internal static readonly OptionTable Table = new()
    {
        Values =
        [
            .. OptionTable.EtcdFamily, "http", "https", "certs", "tcp-bind", "admin", "dns", "dns-zone", "dns-answer",
            "dns-upstream", "internal-networks", "drain-timeout", "shutdown-delay", "tcp-idle-timeout", "tcp-max-connections",
            "max-http-connections", "client-idle-timeout", "request-head-timeout", "max-request-body", "return-memory",
            "state-file", "http-forwarder", "tcp-relay", "http-transport", "backend-timeout", "log-level", "access-log", "access-log-sample", "trusted-proxies",
        ],
        EnvironmentPrefix = "ROUTER_",
        SettingsSection = "Router",
    };

    /// <summary>Every option's name (without <c>--</c>); docs/reference.md lists each (ReferenceDocTests).</summary>
    internal static readonly string[] Names = [.. Table.Names];

    /// <summary>The outcome of parsing: options, or the errors to print, or a request for help.</summary>
    internal sealed record Result(RouterOptions? Options, IReadOnlyList<string> Errors, bool Help);

    public static Result Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment, IConfiguration? settings) =>
        Parse(Table, args, environment, settings, readMore: null);

    /// <summary>The router's options by a larger <paramref name="table"/> (a subcommand's); <paramref name="readMore"/> reads the extra ones.</summary>
    public static Result Parse(OptionTable table, IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment, IConfiguration? settings, Action<OptionReader>? readMore)
    {
        var reader = OptionReader.Parse(table, args, name => environment.GetValueOrDefault(name), settings is null ? null : key => settings[key]);
        if (reader.Help)
        {
            return new Result(null, [], Help: true);
        }

        readMore?.Invoke(reader);
        var options = Build(reader);
        return reader.Errors.Count > 0 ? new Result(null, reader.Errors, Help: false) : new Result(options, [], Help: false);
    }

    /// <summary>An <c>epoll|sockets</c> option: true for the router's own event loops, false for .NET's sockets, null when unset or bad (reported).</summary>
    private static bool? OnLoops(OptionReader reader, string name)
    {
        if (reader.Get(name) is not { } value)
        {
            return null;
        }

        switch (value.Text.Trim().ToLowerInvariant())
        {
            case "epoll":
                return true;
            case "sockets":
                return false;
            default:
                reader.Fail(value, "is not epoll or sockets");
                return null;
        }
    }

    private static RouterOptions Build(OptionReader reader)
    {
        var errors = reader.Errors;
        var d = new RouterOptions();
        var options = d with
        {
            Etcd = reader.Etcd(required: false),
            Prefix = reader.Prefix("prefix", d.Prefix),
            Http = reader.Endpoint("http") ?? d.Http,
            Https = reader.Endpoint("https"),
            Admin = reader.Endpoint("admin") ?? d.Admin,
            InternalNetworks = reader.List<IPNetwork>("internal-networks", IPNetwork.TryParse, "a network like 10.0.0.0/8") ?? d.InternalNetworks,
            TrustedProxies = reader.List<IPNetwork>("trusted-proxies", IPNetwork.TryParse, "a network like 10.0.0.0/8") ?? d.TrustedProxies,
            DrainTimeout = reader.Seconds("drain-timeout", 0, 3600, d.DrainTimeout),
            ShutdownDelay = reader.Seconds("shutdown-delay", 0, 600, d.ShutdownDelay),
            BackendTimeout = reader.Seconds("backend-timeout", 0.1, 86400, d.BackendTimeout),
            TcpIdleTimeout = reader.Seconds("tcp-idle-timeout", 1, 7 * 86400, d.TcpIdleTimeout),
            ClientIdleTimeout = reader.Seconds("client-idle-timeout", 1, 86400, d.ClientIdleTimeout),
            RequestHeadTimeout = reader.Seconds("request-head-timeout", 1, 3600, d.RequestHeadTimeout),
            TcpMaxConnections = (int?)reader.WholeNumber("tcp-max-connections", 1, 1_000_000) ?? d.TcpMaxConnections,
            MaxHttpConnections = (int?)reader.WholeNumber("max-http-connections", 1, 1_000_000),
            AccessLogSample = (int?)reader.WholeNumber("access-log-sample", 1, int.MaxValue, "a whole number") ?? d.AccessLogSample,
        };

        if (reader.Get("certs") is { } certs)
        {
            if (!Directory.Exists(certs.Text))
            {
                errors.Add($"{certs.Label}: folder '{OptionReader.Printable(certs.Text)}' does not exist");
            }

            options = options with { CertsDirectory = certs.Text };
        }

        if (reader.Get("https") is { } https && options.CertsDirectory is null)
        {
            errors.Add($"{https.Label}: needs --certs, the folder of PEM certificates (NAME.crt + NAME.key)");
        }

        if (reader.Get("tcp-bind") is { } tcpBind)
        {
            if (IPAddress.TryParse(tcpBind.Text, out var address))
            {
                options = options with { TcpBind = address };
            }
            else
            {
                reader.Fail(tcpBind, "is not an IP address");
            }
        }

        if (reader.Get("dns") is { } dns)
        {
            options = options with { Dns = OptionReader.IsOff(dns) ? null : reader.Endpoint("dns") };
        }

        if (reader.Get("dns-zone") is { } zone)
        {
            var z = zone.Text.Trim().TrimEnd('.').ToLowerInvariant();
            if (z.Length == 0 || z.Length > 253 || !z.Split('.').All(l => ServiceName.IsValid(l)))
            {
                reader.Fail(zone, "is not a DNS zone name like local");
            }
            else
            {
                options = options with { DnsZone = z };
            }
        }

        if (reader.Get("dns-answer") is { } answer)
        {
            if (IPAddress.TryParse(answer.Text, out var address) && answer.Text.Count(c => c == '.') is 3 or 0)
            {
                options = options with { DnsAnswer = address };
            }
            else
            {
                reader.Fail(answer, "is not an IP address");
            }
        }

        // A bare address means port 53; an explicit ":0" is a mistake.
        options = options with
        {
            DnsUpstream = reader.List<IPEndPoint>("dns-upstream", UpstreamResolver, "IP or IP:PORT", noneGiven: "upstream resolver") ?? d.DnsUpstream,
        };

        if (reader.Get("return-memory") is { } returnMemory)
        {
            options = options with
            {
                ReturnMemoryThreshold = OptionReader.IsOff(returnMemory) ? null
                    : reader.WholeNumber("return-memory", 1, 65536, "a number of megabytes", orOff: true) * 1024L * 1024 ?? d.ReturnMemoryThreshold,
            };
        }

        if (reader.Get("max-request-body") is { } maxBody && !OptionReader.IsOff(maxBody))
        {
            options = options with { MaxRequestBodySize = reader.WholeNumber("max-request-body", 1, long.MaxValue, "a number of bytes", orOff: true) };
        }

        if (reader.Get("log-level") is { } level)
        {
            // Serilog's names, and the short ones operators type from other tools' habits.
            LogEventLevel? parsed = level.Text.Trim().ToLowerInvariant() switch
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
                reader.Fail(level, "is not debug, information, warning or error (or verbose, fatal)");
            }
        }

        if (reader.Get("http-forwarder") is { } forwarder)
        {
            switch (forwarder.Text.Trim().ToLowerInvariant())
            {
                case "direct":
                    options = options with { DirectForwarding = true, ConnectionLevel = true };
                    break;
                case "kestrel":
                    options = options with { DirectForwarding = true, ConnectionLevel = false };
                    break;
                case "yarp":
                    options = options with { DirectForwarding = false, ConnectionLevel = false };
                    break;
                default:
                    reader.Fail(forwarder, "is not direct, kestrel or yarp");
                    break;
            }
        }

        if (OnLoops(reader, "tcp-relay") is { } relayOnLoops)
        {
            options = options with { TcpRelayOnLoops = relayOnLoops };
        }

        if (OnLoops(reader, "http-transport") is { } httpOnLoops)
        {
            options = options with { HttpOnLoops = httpOnLoops };
        }

        if (reader.Get("access-log") is { } access)
        {
            var target = access.Text.Trim();
            if (target.Length == 0)
            {
                errors.Add($"{access.Label}: empty; give off, stdout or a file path");
            }
            else
            {
                options = options with { AccessLog = target is "off" ? null : target is "stdout" ? target : reader.PathInExistingFolder(access with { Text = target }) };
            }
        }

        if (reader.Get("state-file") is { } state)
        {
            options = options with { StateFile = reader.PathInExistingFolder(state) };
        }

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

    private static bool UpstreamResolver(string text, out IPEndPoint endpoint)
    {
        var ok = IPEndPoint.TryParse(text, out var parsed) && !text.EndsWith(":0", StringComparison.Ordinal);
        endpoint = ok ? (parsed!.Port == 0 ? new IPEndPoint(parsed.Address, 53) : parsed) : new IPEndPoint(IPAddress.None, 0);
        return ok;
    }
}
