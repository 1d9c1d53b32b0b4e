using System.Globalization;
using Router.Registry;
using Router.Registry.Etcd;
using Router.Registry.Model;
using Router.Registry.Validation;

namespace Router.Announcer.Options;

/// <summary>
/// Reads the announcer's command line (the contract in docs/announcer.md). Every option can also come from the environment
/// as <c>ANNOUNCER_{NAME}</c> (<c>--host-port</c> → <c>ANNOUNCER_HOST_PORT</c>); the command line wins. Every problem
/// is reported, one line each, naming its option.
/// </summary>
internal static class CommandLine
{
    public const string EnvironmentPrefix = "ANNOUNCER_";
    public const string PasswordVariable = "ROUTER_ETCD_PASSWORD";
    public const int MaxInstanceLength = 253;

    public const string Usage = """
        usage: announcer --etcd URLS --service NAME --instance ID --address HOST:PORT
                         [--scheme http|https|http-and-https|tcp] [--host-port N] [--private]
                         [--ttl SECONDS] [--check URL|tcp] [--interval SECONDS] [--drain SECONDS]
                         [--prefix /services]
                         [--etcd-ca FILE] [--etcd-cert FILE] [--etcd-key FILE] [--etcd-user USER]
                         [--etcd-password-file FILE]

        Registers {prefix}/{service}/hosts/{instance} = HOST:PORT in etcd, bound to a lease, while the check
        passes; withdraws it after 3 failed checks in a row; on SIGTERM/SIGINT deletes it first, waits
        --drain seconds, then exits 0.

          --etcd URLS            etcd client URLs, comma-separated (http://10.0.0.1:2379,…)   required
          --service NAME         service name, a DNS label                                     required
          --instance ID          instance id, the host key's last segment (e.g. %i)            required
          --address HOST:PORT    what routers connect to: ip:port, [ipv6]:port, name:port      required
          --scheme S             the service's scheme, written if missing or different         default http
          --host-port N          the service's host_port, written if missing or different      default none
          --private              mark the service private (written if missing)                 default off
          --ttl SECONDS          lease TTL; keepalive every TTL/3; 1-3600                      default 10
          --check URL|tcp        GET URL must answer 2xx/3xx; tcp: connect to --address        default none (always healthy)
          --interval SECONDS     time between checks (a check times out after min(interval, 5 s)) default 3
          --drain SECONDS        wait after withdrawing on SIGTERM, before exiting              default 5
          --prefix PATH          registry prefix                                               default /services
          --etcd-ca FILE         PEM CA of etcd's server certificate
          --etcd-cert FILE       PEM client certificate (with --etcd-key)
          --etcd-key FILE        PEM client key
          --etcd-user USER       etcd user; the password comes from ROUTER_ETCD_PASSWORD or --etcd-password-file
          --etcd-password-file FILE  file holding the etcd password (never on the command line)
          --help                 this text

        Every option can also be set in the environment as ANNOUNCER_<NAME>, e.g. ANNOUNCER_SERVICE=web,
        ANNOUNCER_HOST_PORT=8080, ANNOUNCER_PRIVATE=true; the command line wins. Bad options exit with code 2.
        """;

    private const string Flag = "private";

    private static readonly string[] ValueOptions =
    [
        "etcd", "service", "instance", "address", "scheme", "host-port", "ttl", "check", "interval", "drain", "prefix",
        "etcd-ca", "etcd-cert", "etcd-key", "etcd-user", "etcd-password-file",
    ];

    public static string EnvironmentName(string option) =>
        EnvironmentPrefix + option.ToUpperInvariant().Replace('-', '_');

    /// <summary>Parses <paramref name="args"/>, taking unset options from <paramref name="environment"/>.</summary>
    public static CommandLineResult Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var errors = new List<string>();
        var given = new Dictionary<string, string>(StringComparer.Ordinal);

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                return new CommandLineResult { ShowHelp = true };
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                errors.Add($"'{Printable(arg)}': unexpected argument (options start with --; see --help)");
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg[2..] : arg[2..equals];
            string? value = equals < 0 ? null : arg[(equals + 1)..];

            if (name == Flag)
            {
                value ??= "true";
            }
            else if (Array.IndexOf(ValueOptions, name) < 0)
            {
                errors.Add($"--{Printable(name)}: unknown option (see --help)");
                continue;
            }
            else if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    errors.Add($"--{name}: needs a value");
                    continue;
                }

                value = args[++i];
            }

            if (!given.TryAdd(name, value))
            {
                errors.Add($"--{name}: given more than once");
            }
        }

        var reader = new Reader(given, environment, errors);
        var options = reader.Read();
        return errors.Count == 0 && options is not null
            ? new CommandLineResult { Options = options }
            : new CommandLineResult { Errors = [.. errors.Select(e => "announcer: " + e)] };
    }

    private static string Printable(string text) => ServiceParser.Printable(text);

    /// <summary>Looks options up (command line first, then environment) and validates them.</summary>
    private sealed class Reader(Dictionary<string, string> given, Func<string, string?> environment, List<string> errors)
    {
        public AnnouncerOptions? Read()
        {
            var endpoints = Required("etcd", out var etcdLabel) is { } etcdText
                ? EtcdOptions.ParseEndpoints(etcdText, etcdLabel, errors)
                : [];

            var service = ReadService();
            var instance = ReadInstance();
            var address = ReadAddress();
            var scheme = ReadScheme();
            var hostPort = ReadHostPort();
            if (scheme == ServiceScheme.Tcp && hostPort is null && Optional("host-port", out _) is null)
            {
                // A tcp service is reachable only on its host_port; the router skips one without it.
                errors.Add("--scheme tcp: needs --host-port N (a tcp service is served only on its host_port)");
            }
            var isPrivate = ReadPrivate();
            var ttl = ReadTtl();
            var (checkKind, checkUrl) = ReadCheck();
            var interval = ReadSeconds("interval", AnnouncerOptions.DefaultInterval, allowZero: false, AnnouncerOptions.MaxIntervalSeconds);
            var drain = ReadSeconds("drain", AnnouncerOptions.DefaultDrain, allowZero: true, AnnouncerOptions.MaxDrainSeconds);
            var prefix = ReadPrefix();
            var etcd = ReadEtcdSecurity(endpoints);

            if (errors.Count > 0 || service is null || instance is null || address is null || etcd is null)
            {
                return null;
            }

            return new AnnouncerOptions
            {
                Etcd = etcd,
                Service = service,
                Instance = instance,
                Address = address.Value.Text,
                AddressHost = address.Value.Host,
                AddressPort = address.Value.Port,
                Scheme = scheme,
                HostPort = hostPort,
                Private = isPrivate,
                TtlSeconds = ttl,
                CheckKind = checkKind,
                CheckUrl = checkUrl,
                Interval = interval,
                Drain = drain,
                Prefix = prefix,
            };
        }

        private string? ReadService()
        {
            if (Required("service", out var label) is not { } text)
            {
                return null;
            }

            if (!ServiceName.IsValid(text))
            {
                return Fail<string>(label, $"'{Printable(text)}' is not a DNS label (a-z, 0-9 and '-', 1-63 characters, no leading or trailing '-')");
            }

            return text.ToLowerInvariant();
        }

        private string? ReadInstance()
        {
            if (Required("instance", out var label) is not { } text)
            {
                return null;
            }

            // The id is the last segment of the host key: a '/' would make it a folder, blanks make it unreadable.
            if (text.Length is 0 or > MaxInstanceLength || text.Any(c => c == '/' || char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                return Fail<string>(label, $"'{Printable(text)}' cannot be an instance id (1-{MaxInstanceLength} characters, no '/', spaces or control characters)");
            }

            return text;
        }

        private (string Text, string Host, int Port)? ReadAddress()
        {
            if (Required("address", out var label) is not { } text)
            {
                return null;
            }

            if (!HostAddress.TryParse(text, out var host, out var port, out var error))
            {
                errors.Add($"{label}: '{Printable(text)}': {error}");
                return null;
            }

            var written = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
            return (written, host, port);
        }

        private ServiceScheme ReadScheme()
        {
            if (Optional("scheme", out var label) is not { } text)
            {
                return ServiceScheme.Http;
            }

            if (ServiceParser.ParseScheme(text) is { } scheme)
            {
                return scheme;
            }

            errors.Add($"{label}: '{Printable(text)}' is not one of http, https, http-and-https, tcp");
            return ServiceScheme.Http;
        }

        private int? ReadHostPort()
        {
            if (Optional("host-port", out var label) is not { } text)
            {
                return null;
            }

            if (HostAddress.TryParsePort(text, out var port))
            {
                return port;
            }

            errors.Add($"{label}: '{Printable(text)}' is not a port from 1 to 65535");
            return null;
        }

        private bool ReadPrivate()
        {
            if (Optional(Flag, out var label) is not { } text)
            {
                return false;
            }

            switch (text.ToLowerInvariant())
            {
                case "true" or "1" or "yes" or "on":
                    return true;
                case "false" or "0" or "no" or "off":
                    return false;
                default:
                    errors.Add($"{label}: '{Printable(text)}' is not true or false");
                    return false;
            }
        }

        private int ReadTtl()
        {
            if (Optional("ttl", out var label) is not { } text)
            {
                return AnnouncerOptions.DefaultTtlSeconds;
            }

            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ttl)
                && ttl is >= 1 and <= AnnouncerOptions.MaxTtlSeconds)
            {
                return ttl;
            }

            errors.Add($"{label}: '{Printable(text)}' is not a whole number of seconds from 1 to {AnnouncerOptions.MaxTtlSeconds}");
            return AnnouncerOptions.DefaultTtlSeconds;
        }

        private (HealthCheckKind, Uri?) ReadCheck()
        {
            if (Optional("check", out var label) is not { } text)
            {
                return (HealthCheckKind.None, null);
            }

            if (string.Equals(text, "tcp", StringComparison.OrdinalIgnoreCase))
            {
                return (HealthCheckKind.Tcp, null);
            }

            if (Uri.TryCreate(text, UriKind.Absolute, out var url)
                && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
                && url.Host.Length > 0)
            {
                return (HealthCheckKind.Http, url);
            }

            errors.Add($"{label}: '{Printable(text)}' is neither tcp nor an http:// or https:// URL");
            return (HealthCheckKind.None, null);
        }

        private TimeSpan ReadSeconds(string option, TimeSpan fallback, bool allowZero, double max)
        {
            if (Optional(option, out var label) is not { } text)
            {
                return fallback;
            }

            if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
                && double.IsFinite(seconds)
                && (allowZero ? seconds >= 0 : seconds > 0)
                && seconds <= max)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            var lower = allowZero ? "from 0" : "greater than 0";
            errors.Add($"{label}: '{Printable(text)}' is not a number of seconds {lower} and at most {max}");
            return fallback;
        }

        private string ReadPrefix()
        {
            if (Optional("prefix", out var label) is not { } text)
            {
                return RegistryLayout.DefaultPrefix;
            }

            if (RegistryLayout.TryNormalizePrefix(text, out var prefix, out var why))
            {
                return prefix;
            }

            errors.Add($"{label}: '{Printable(text)}' {why}");
            return RegistryLayout.DefaultPrefix;
        }

        private EtcdOptions? ReadEtcdSecurity(IReadOnlyList<Uri> endpoints)
        {
            var ca = ExistingFile("etcd-ca");
            var cert = ExistingFile("etcd-cert");
            var key = ExistingFile("etcd-key");
            if (cert is not null && key is null && Optional("etcd-key", out _) is null)
            {
                errors.Add("--etcd-key: needed with --etcd-cert");
            }

            if (key is not null && cert is null && Optional("etcd-cert", out _) is null)
            {
                errors.Add("--etcd-cert: needed with --etcd-key");
            }

            var user = Optional("etcd-user", out _);
            string? password = null;
            if (Optional("etcd-password-file", out var passwordLabel) is { } passwordFile)
            {
                if (user is null)
                {
                    errors.Add($"{passwordLabel}: needs --etcd-user");
                }

                try
                {
                    // A trailing newline is what editors and `echo` leave; it is never part of the password.
                    password = File.ReadAllText(passwordFile).TrimEnd('\r', '\n');
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    errors.Add($"{passwordLabel}: cannot read '{Printable(passwordFile)}': {e.Message}");
                }
            }
            else if (user is not null)
            {
                password = environment(PasswordVariable);
            }

            if (endpoints.Count == 0)
            {
                return null;
            }

            return new EtcdOptions
            {
                Endpoints = endpoints,
                CaFile = ca,
                CertFile = cert,
                KeyFile = key,
                User = user,
                Password = password,
            };
        }

        private string? ExistingFile(string option)
        {
            if (Optional(option, out var label) is not { } path)
            {
                return null;
            }

            if (!File.Exists(path))
            {
                errors.Add($"{label}: '{Printable(path)}' does not exist");
                return null;
            }

            return path;
        }

        private string? Required(string option, out string label)
        {
            var value = Optional(option, out label);
            if (value is null)
            {
                errors.Add($"--{option}: required (or set {EnvironmentName(option)})");
            }

            return value;
        }

        /// <summary>The option's value from the command line, else from the environment; empty counts as unset.</summary>
        private string? Optional(string option, out string label)
        {
            label = $"--{option}";
            if (given.TryGetValue(option, out var value))
            {
                return value;
            }

            var variable = EnvironmentName(option);
            var fromEnvironment = environment(variable);
            if (string.IsNullOrWhiteSpace(fromEnvironment))
            {
                return null;
            }

            label = $"--{option} (from {variable})";
            return fromEnvironment.Trim();
        }

        private T? Fail<T>(string label, string message)
            where T : class
        {
            errors.Add($"{label}: {message}");
            return null;
        }
    }
}
