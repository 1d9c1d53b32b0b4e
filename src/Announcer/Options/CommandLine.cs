using Router.Registry;
using Router.Registry.CommandLine;
using Router.Registry.Model;
using Router.Registry.Validation;

namespace Router.Announcer.Options;

/// <summary>
/// Reads the announcer's command line (the contract in docs/announcer.md). Every option can also come from the environment
/// as <c>ANNOUNCER_{NAME}</c> (<c>--host-port</c> → <c>ANNOUNCER_HOST_PORT</c>); the command line wins. Every problem
/// is reported, one line each, naming its option. The parsing and the etcd option family are the router's own
/// (<see cref="OptionReader"/>).
/// </summary>
internal static class CommandLine
{
    public const string EnvironmentPrefix = "ANNOUNCER_";
    public const string PasswordVariable = OptionReader.PasswordVariable;
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

    private static readonly OptionTable Table = new()
    {
        Values = [.. OptionTable.EtcdFamily, "service", "instance", "address", "scheme", "host-port", "ttl", "check", "interval", "drain"],
        Switches = ["private"],
        EnvironmentPrefix = EnvironmentPrefix,
    };

    public static string EnvironmentName(string option) => Table.EnvironmentName(option);

    /// <summary>Parses <paramref name="args"/>, taking unset options from <paramref name="environment"/>.</summary>
    public static CommandLineResult Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var reader = OptionReader.Parse(Table, args, environment);
        if (reader.Help)
        {
            return new CommandLineResult { ShowHelp = true };
        }

        var options = Read(reader);
        return reader.Errors.Count == 0 && options is not null
            ? new CommandLineResult { Options = options }
            : new CommandLineResult { Errors = [.. reader.Errors.Select(e => "announcer: " + e)] };
    }

    private static AnnouncerOptions? Read(OptionReader reader)
    {
        var etcd = reader.Etcd(required: true);
        var service = ReadService(reader);
        var instance = ReadInstance(reader);
        var address = ReadAddress(reader);
        var scheme = ReadScheme(reader);
        var hostPort = (int?)reader.WholeNumber("host-port", 1, 65535, "a port");
        if (scheme == ServiceScheme.Tcp && reader.Get("host-port") is null)
        {
            // A tcp service is reachable only on its host_port; the router skips one without it.
            reader.Errors.Add("--scheme tcp: needs --host-port N (a tcp service is served only on its host_port)");
        }

        var options = new AnnouncerOptions
        {
            Etcd = etcd,
            Service = service ?? "",
            Instance = instance ?? "",
            Address = address?.Text ?? "",
            AddressHost = address?.Host ?? "",
            AddressPort = address?.Port ?? 0,
            Scheme = scheme,
            HostPort = hostPort,
            Private = reader.Switch("private"),
            TtlSeconds = (int?)reader.WholeNumber("ttl", 1, AnnouncerOptions.MaxTtlSeconds, "a whole number of seconds") ?? AnnouncerOptions.DefaultTtlSeconds,
            Interval = reader.Seconds("interval", 0, AnnouncerOptions.MaxIntervalSeconds, AnnouncerOptions.DefaultInterval, aboveMin: true),
            Drain = reader.Seconds("drain", 0, AnnouncerOptions.MaxDrainSeconds, AnnouncerOptions.DefaultDrain),
            Prefix = reader.Prefix("prefix", RegistryLayout.DefaultPrefix),
        };
        var (checkKind, checkUrl) = ReadCheck(reader);
        return service is null || instance is null || address is null ? null : options with { CheckKind = checkKind, CheckUrl = checkUrl };
    }

    private static string? ReadService(OptionReader reader)
    {
        if (reader.Required("service") is not { } value)
        {
            return null;
        }

        if (!ServiceName.IsValid(value.Text))
        {
            reader.Fail(value, "is not a DNS label (a-z, 0-9 and '-', 1-63 characters, no leading or trailing '-')");
            return null;
        }

        return value.Text.ToLowerInvariant();
    }

    private static string? ReadInstance(OptionReader reader)
    {
        if (reader.Required("instance") is not { } value)
        {
            return null;
        }

        // The id is the last segment of the host key: a '/' would make it a folder, blanks make it unreadable.
        var text = value.Text;
        if (text.Length is 0 or > MaxInstanceLength || text.Any(c => c == '/' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            reader.Fail(value, $"cannot be an instance id (1-{MaxInstanceLength} characters, no '/', spaces or control characters)");
            return null;
        }

        return text;
    }

    private static (string Text, string Host, int Port)? ReadAddress(OptionReader reader)
    {
        if (reader.Required("address") is not { } value)
        {
            return null;
        }

        if (!HostAddress.TryParse(value.Text, out var host, out var port, out var error))
        {
            reader.Errors.Add($"{value.Label}: '{OptionReader.Printable(value.Text)}': {error}");
            return null;
        }

        var written = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        return (written, host, port);
    }

    private static ServiceScheme ReadScheme(OptionReader reader)
    {
        if (reader.Get("scheme") is not { } value)
        {
            return ServiceScheme.Http;
        }

        if (ServiceParser.ParseScheme(value.Text) is { } scheme)
        {
            return scheme;
        }

        reader.Fail(value, "is not one of http, https, http-and-https, tcp");
        return ServiceScheme.Http;
    }

    private static (HealthCheckKind, Uri?) ReadCheck(OptionReader reader)
    {
        if (reader.Get("check") is not { } value)
        {
            return (HealthCheckKind.None, null);
        }

        if (string.Equals(value.Text, "tcp", StringComparison.OrdinalIgnoreCase))
        {
            return (HealthCheckKind.Tcp, null);
        }

        if (Uri.TryCreate(value.Text, UriKind.Absolute, out var url)
            && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            && url.Host.Length > 0)
        {
            return (HealthCheckKind.Http, url);
        }

        reader.Fail(value, "is neither tcp nor an http:// or https:// URL");
        return (HealthCheckKind.None, null);
    }
}
