using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using Router.Registry.Etcd;
using Router.Registry.Validation;

namespace Router.Registry.CommandLine;

/// <summary>
/// The one option plumbing of the router (and its subcommands) and the announcer: reads the command line by
/// an <see cref="OptionTable"/>, looks each option up on the command line, then in the environment, then in
/// appsettings.json, and parses values with one rule each, collecting one error line per problem.
/// The rules are in docs/reference.md ("Command-line rules").
/// </summary>
public sealed class OptionReader
{
    /// <summary>The etcd password is read from here (or a file), never from the command line.</summary>
    public const string PasswordVariable = "ROUTER_ETCD_PASSWORD";

    private readonly OptionTable _table;
    private readonly Dictionary<string, string> _given = new(StringComparer.Ordinal);
    private readonly List<string> _positionals = [];
    private readonly Func<string, string?> _environment;
    private readonly Func<string, string?>? _settings;

    private OptionReader(OptionTable table, Func<string, string?> environment, Func<string, string?>? settings)
    {
        _table = table;
        _environment = environment;
        _settings = settings;
    }

    /// <summary>A value parser in the shape of <c>TryParse</c>.</summary>
    public delegate bool TryParse<T>(string text, [MaybeNullWhen(false)] out T value);

    /// <summary>Every problem found so far, one line each, starting with the option's label.</summary>
    public List<string> Errors { get; } = [];

    /// <summary><c>--help</c> or <c>-h</c> was given: print the usage, whatever else is wrong.</summary>
    public bool Help { get; private set; }

    /// <summary>The bare arguments taken (at most <see cref="OptionTable.Positionals"/>).</summary>
    public IReadOnlyList<string> Positionals => _positionals;

    /// <summary>Reads <paramref name="args"/>; <paramref name="settings"/> answers <c>Section:Key</c> lookups.</summary>
    public static OptionReader Parse(OptionTable table, IReadOnlyList<string> args, Func<string, string?> environment, Func<string, string?>? settings = null)
    {
        var reader = new OptionReader(table, environment, settings);
        reader.ReadArguments(args);
        return reader;
    }

    /// <summary>Escapes control characters and shortens long text, so an error line stays one readable line.</summary>
    public static string Printable(string text) => ServiceParser.Printable(text);

    /// <summary>Only digits with at most one decimal point: no sign, exponent, NaN or Infinity.</summary>
    public static bool TryPlainDecimal(string text, out double value)
    {
        value = 0;
        return text.Length > 0
            && text.All(c => char.IsAsciiDigit(c) || c == '.')
            && double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value);
    }

    /// <summary>ADDR:PORT with an explicit port from 1 to 65535 (IPEndPoint.TryParse alone takes a bare address as port 0).</summary>
    public static bool TryEndpoint(string text, [MaybeNullWhen(false)] out IPEndPoint endpoint) =>
        IPEndPoint.TryParse(text, out endpoint) && endpoint.Port is > 0 and <= 65535;

    /// <summary><c>off</c>, in any case: the word that turns an optional feature off.</summary>
    public static bool IsOff(OptionValue value) => value.Text.Trim().Equals("off", StringComparison.OrdinalIgnoreCase);

    /// <summary>The option's value: the command line's, else the environment's, else appsettings.json's; empty there counts as unset.</summary>
    public OptionValue? Get(string name)
    {
        if (_given.TryGetValue(name, out var given))
        {
            return new OptionValue(given, "--" + name);
        }

        if (!(_table.FromEnvironment?.Contains(name) ?? true))
        {
            return null;
        }

        if (_table.EnvironmentPrefix is not null)
        {
            var variable = _table.EnvironmentName(name);
            if (_environment(variable) is { } text && !string.IsNullOrWhiteSpace(text))
            {
                return new OptionValue(text.Trim(), $"--{name} (from {variable})");
            }
        }

        if (_table.SettingsSection is not null && _settings is not null)
        {
            var key = $"{_table.SettingsSection}:{OptionTable.SettingsKey(name)}";
            if (_settings(key) is { } text && !string.IsNullOrWhiteSpace(text))
            {
                return new OptionValue(text.Trim(), $"--{name} (from {key} in appsettings.json)");
            }
        }

        return null;
    }

    /// <summary>Adds "LABEL: 'VALUE' WHY".</summary>
    public void Fail(OptionValue value, string why) => Errors.Add($"{value.Label}: '{Printable(value.Text)}' {why}");

    /// <summary>The value, or an error that names the option and its environment variable.</summary>
    public OptionValue? Required(string name)
    {
        var value = Get(name);
        if (value is null)
        {
            var orSet = _table.EnvironmentPrefix is null ? "" : $" (or set {_table.EnvironmentName(name)})";
            Errors.Add($"--{name}: required{orSet}");
        }

        return value;
    }

    /// <summary>A switch: false when absent; true, 1, yes, on or false, 0, no, off when given a value.</summary>
    public bool Switch(string name)
    {
        if (Get(name) is not { } value)
        {
            return false;
        }

        switch (value.Text.ToLowerInvariant())
        {
            case "true" or "1" or "yes" or "on":
                return true;
            case "false" or "0" or "no" or "off":
                return false;
            default:
                Fail(value, "is not true or false");
                return false;
        }
    }

    /// <summary>Seconds as a plain decimal within [min, max] (or (min, max] with <paramref name="aboveMin"/>).</summary>
    public TimeSpan Seconds(string name, double min, double max, TimeSpan fallback, bool aboveMin = false)
    {
        if (Get(name) is not { } value)
        {
            return fallback;
        }

        if (TryPlainDecimal(value.Text, out var seconds) && (aboveMin ? seconds > min : seconds >= min) && seconds <= max)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        Fail(value, aboveMin
            ? $"is not a number of seconds greater than {Number(min)} and at most {Number(max)}"
            : $"is not a number of seconds from {Number(min)} to {Number(max)}");
        return fallback;
    }

    /// <summary>A whole number within [min, max]; null when absent or bad (then an error says "is not NOUN from MIN to MAX").</summary>
    public long? WholeNumber(string name, long min, long max, string noun = "a number", bool orOff = false)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (long.TryParse(value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
        {
            return n;
        }

        var range = max == long.MaxValue ? $"of {min} or more" : $"from {min} to {max}";
        Fail(value, $"is not {noun} {range}{(orOff ? ", or off" : "")}");
        return null;
    }

    /// <summary>ADDR:PORT; null when absent or bad.</summary>
    public IPEndPoint? Endpoint(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (TryEndpoint(value.Text, out var endpoint))
        {
            return endpoint;
        }

        Fail(value, "is not ADDR:PORT (like 0.0.0.0:80 or [::]:80)");
        return null;
    }

    /// <summary>A comma-separated list; each bad item is an error, and so is an empty list when <paramref name="noneGiven"/> names what is missing.</summary>
    public IReadOnlyList<T>? List<T>(string name, TryParse<T> parse, string notA, string? noneGiven = null)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        var list = new List<T>();
        var bad = false;
        foreach (var part in value.Text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (parse(part, out var item))
            {
                list.Add(item);
            }
            else
            {
                Errors.Add($"{value.Label}: '{Printable(part)}' is not {notA}");
                bad = true;
            }
        }

        if (list.Count == 0 && !bad && noneGiven is not null)
        {
            Errors.Add($"{value.Label}: no {noneGiven} given");
        }

        return list;
    }

    /// <summary>A registry key prefix by the one rule of <see cref="RegistryLayout.TryNormalizePrefix"/>.</summary>
    public string Prefix(string name, string fallback)
    {
        if (Get(name) is not { } value)
        {
            return fallback;
        }

        if (RegistryLayout.TryNormalizePrefix(value.Text, out var prefix, out var why))
        {
            return prefix;
        }

        Fail(value, $"is not a key prefix like {fallback} ({why})");
        return fallback;
    }

    /// <summary>A path to a file that exists; null when absent or missing.</summary>
    public string? ExistingFile(string name)
    {
        if (Get(name) is not { } value)
        {
            return null;
        }

        if (!File.Exists(value.Text))
        {
            Fail(value, "does not exist");
            return null;
        }

        return value.Text;
    }

    /// <summary>The value as a path whose folder must exist (the file itself is written later).</summary>
    public string? PathInExistingFolder(OptionValue value)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(value.Text));
        if (folder is null || !Directory.Exists(folder))
        {
            Errors.Add($"{value.Label}: folder of '{Printable(value.Text)}' does not exist");
        }

        return value.Text;
    }

    /// <summary>
    /// The etcd option family (<c>--etcd</c>, <c>--etcd-ca</c>, <c>--etcd-cert</c>, <c>--etcd-key</c>,
    /// <c>--etcd-user</c>, <c>--etcd-password-file</c>, password from <see cref="PasswordVariable"/>), checked once for all.
    /// </summary>
    public EtcdOptions Etcd(bool required)
    {
        var etcd = new EtcdOptions();
        if ((required ? Required("etcd") : Get("etcd")) is { } endpoints)
        {
            // ParseEndpoints adds "no endpoint given" only to an error list without errors yet.
            var found = new List<string>();
            etcd = etcd with { Endpoints = EtcdOptions.ParseEndpoints(endpoints.Text, endpoints.Label, found) };
            Errors.AddRange(found);
        }

        etcd = etcd with { CaFile = ExistingFile("etcd-ca"), CertFile = ExistingFile("etcd-cert"), KeyFile = ExistingFile("etcd-key") };
        var cert = Get("etcd-cert");
        var key = Get("etcd-key");
        if (cert is not null && key is null)
        {
            Errors.Add($"{cert.Label}: needs --etcd-key");
        }
        else if (key is not null && cert is null)
        {
            Errors.Add($"{key.Label}: needs --etcd-cert");
        }

        var user = Get("etcd-user");
        if (Get("etcd-password-file") is { } file)
        {
            if (user is null)
            {
                // One problem, not two: without a user the file would not be used anyway.
                Errors.Add($"{file.Label}: needs --etcd-user");
            }
            else
            {
                etcd = etcd with { Password = ReadPassword(file) };
            }
        }
        else if (user is not null)
        {
            var password = _environment(PasswordVariable);
            if (string.IsNullOrEmpty(password))
            {
                Errors.Add($"{user.Label}: needs a password in {PasswordVariable} or --etcd-password-file");
            }

            etcd = etcd with { Password = password };
        }

        return etcd with { User = user?.Text };
    }

    private string? ReadPassword(OptionValue file)
    {
        try
        {
            // A trailing newline is what editors and `echo` leave; it is never part of the password.
            return File.ReadAllText(file.Text).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Fail(file, $"cannot be read: {e.Message}");
            return null;
        }
    }

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    private void ReadArguments(IReadOnlyList<string> args)
    {
        var hint = $"(see {_table.HelpCommand})";
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                Help = true;
                return;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                if (_positionals.Count < _table.Positionals)
                {
                    _positionals.Add(arg);
                }
                else
                {
                    Errors.Add($"'{Printable(arg)}': unexpected argument (options start with --; {hint[1..]}");
                }

                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg[2..] : arg[2..equals];
            var value = equals < 0 ? null : arg[(equals + 1)..];
            var valueFollows = value is null && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal);

            if (name == "etcd-password" || !_table.Names.Contains(name))
            {
                Errors.Add(name == "etcd-password"
                    ? $"--etcd-password: not accepted on the command line, where every local user can read it; use {PasswordVariable} or --etcd-password-file"
                    : $"--{Printable(name)}: unknown option {hint}");

                // Its value, if it has one, is not a second error.
                i += valueFollows ? 1 : 0;
                continue;
            }

            if (_table.Switches.Contains(name))
            {
                value ??= "true";
            }
            else if (value is null)
            {
                // A value that starts with -- is the next option, not this one's value (--name=--x passes one).
                if (!valueFollows)
                {
                    Errors.Add($"--{name}: needs a value");
                    continue;
                }

                value = args[++i];
            }

            // Given twice, the later one wins: a wrapper (systemd unit, script, test harness) can put defaults
            // first and let what follows override them, as most command lines do.
            _given[name] = value;
        }
    }
}
