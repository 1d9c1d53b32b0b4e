using System.Collections.Immutable;
using System.Text;
using Router.Registry.Model;

namespace Router.Registry.Validation;

/// <summary>
/// Turns the keys of one service folder into a validated <see cref="ServiceEntry"/>. A fatal problem (bad name,
/// missing or unknown scheme) skips the service; a bad host or optional key skips only that key.
/// </summary>
public static class ServiceParser
{
    /// <summary>Values longer than this are refused: no registry value needs more, and a huge one is a mistake.</summary>
    public const int MaxValueBytes = 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parses one service folder.</summary>
    /// <param name="folderName">The service segment as found in the keys.</param>
    /// <param name="keys">The folder's keys by their rest (<c>scheme</c>, <c>hosts/1</c>, …).</param>
    /// <param name="problems">Every problem found, fatal or not.</param>
    /// <returns>The service, or null when it must be skipped.</returns>
    public static ServiceEntry? Parse(string folderName, IReadOnlyDictionary<string, RegistryKeyValue> keys, out ImmutableArray<RegistryProblem> problems)
    {
        var found = ImmutableArray.CreateBuilder<RegistryProblem>();
        var name = folderName.ToLowerInvariant();

        if (!ServiceName.IsValid(folderName))
        {
            var anyKey = keys.Values.Select(k => k.Key).Order(StringComparer.Ordinal).FirstOrDefault() ?? folderName;
            found.Add(new RegistryProblem(folderName, anyKey, $"service name '{Printable(folderName)}' is not a DNS label ([a-z0-9-], 1-63 characters, no leading or trailing '-'); service skipped"));
            problems = found.ToImmutable();
            return null;
        }

        ServiceScheme? scheme = null;
        int? hostPort = null;
        long hostPortRevision = 0;
        var isPrivate = false;
        var stripPath = false;
        var hosts = new List<ServiceHost>();

        foreach (var (rest, kv) in keys)
        {
            if (rest.StartsWith(RegistryLayout.HostsFolder + "/", StringComparison.Ordinal))
            {
                var id = rest[(RegistryLayout.HostsFolder.Length + 1)..];
                if (TryDecode(kv, name, found, out var text))
                {
                    if (HostAddress.TryParse(text, out var host, out var port, out var error))
                    {
                        hosts.Add(new ServiceHost(id, host, port, kv.CreateRevision, kv.LeaseId));
                    }
                    else
                    {
                        found.Add(new RegistryProblem(name, kv.Key, $"host '{Printable(text)}': {error}; host skipped"));
                    }
                }

                continue;
            }

            switch (rest)
            {
                case RegistryLayout.SchemeKey:
                    if (TryDecode(kv, name, found, out var schemeText))
                    {
                        scheme = ParseScheme(schemeText);
                        if (scheme is null)
                        {
                            found.Add(new RegistryProblem(name, kv.Key, $"unknown scheme '{Printable(schemeText)}' (expected http, https, http-and-https, tcp or tls); service skipped"));
                            problems = found.ToImmutable();
                            return null;
                        }
                    }
                    else
                    {
                        problems = found.ToImmutable();
                        return null;
                    }

                    break;
                case RegistryLayout.HostPortKey:
                    if (TryDecode(kv, name, found, out var portText))
                    {
                        if (HostAddress.TryParsePort(portText, out var port))
                        {
                            hostPort = port;
                            hostPortRevision = kv.CreateRevision;
                        }
                        else
                        {
                            found.Add(new RegistryProblem(name, kv.Key, $"host_port '{Printable(portText)}' is not a number from 1 to 65535; host_port ignored"));
                        }
                    }

                    break;
                case RegistryLayout.PrivateKey:
                    // Presence counts, whatever the value: an operator who wrote anything meant "private".
                    isPrivate = true;
                    break;
                case RegistryLayout.StripPathKey:
                    if (TryDecode(kv, name, found, out var stripText))
                    {
                        if (bool.TryParse(stripText, out var strip))
                        {
                            stripPath = strip;
                        }
                        else
                        {
                            found.Add(new RegistryProblem(name, kv.Key, $"strip_path '{Printable(stripText)}' is not true or false; taken as false"));
                        }
                    }

                    break;
                default:
                    // Unknown keys are left alone: other tools may keep their own data beside ours.
                    break;
            }
        }

        if (scheme is null)
        {
            var firstKey = keys.Values.Select(k => k.Key).Order(StringComparer.Ordinal).First();
            found.Add(new RegistryProblem(name, firstKey, "no scheme key; service skipped"));
            problems = found.ToImmutable();
            return null;
        }

        if (scheme == ServiceScheme.Tcp && hostPort is null)
        {
            // A tcp service is served only on its host_port (DESIGN: skipped, reported): kept, it would show as
            // a routed service that nothing can reach.
            found.Add(new RegistryProblem(name, $"{firstPrefix(keys)}{RegistryLayout.HostPortKey}", "tcp service without a valid host_port is not reachable; service skipped"));
            problems = found.ToImmutable();
            return null;
        }

        hosts.Sort(static (a, b) => a.CreateRevision != b.CreateRevision
            ? a.CreateRevision.CompareTo(b.CreateRevision)
            : string.CompareOrdinal(a.Id, b.Id));

        problems = found.ToImmutable();
        return new ServiceEntry
        {
            Name = name,
            Scheme = scheme.Value,
            Hosts = [.. hosts],
            HostPort = hostPort,
            HostPortCreateRevision = hostPortRevision,
            Private = isPrivate,
            StripPath = stripPath,
            Problems = problems,
        };

        static string firstPrefix(IReadOnlyDictionary<string, RegistryKeyValue> keys)
        {
            var (rest, kv) = keys.First();
            return kv.Key[..^rest.Length];
        }
    }

    public static ServiceScheme? ParseScheme(string text) => text.ToLowerInvariant() switch
    {
        "http" => ServiceScheme.Http,
        "https" => ServiceScheme.Https,
        "http-and-https" => ServiceScheme.HttpAndHttps,
        "tcp" => ServiceScheme.Tcp,
        "tls" => ServiceScheme.Tls,
        _ => null,
    };

    public static string SchemeText(ServiceScheme scheme) => scheme switch
    {
        ServiceScheme.Http => "http",
        ServiceScheme.Https => "https",
        ServiceScheme.HttpAndHttps => "http-and-https",
        ServiceScheme.Tcp => "tcp",
        ServiceScheme.Tls => "tls",
        _ => throw new ArgumentOutOfRangeException(nameof(scheme)),
    };

    private static bool TryDecode(RegistryKeyValue kv, string service, ImmutableArray<RegistryProblem>.Builder problems, out string text)
    {
        text = "";
        if (kv.Value.Length > MaxValueBytes)
        {
            problems.Add(new RegistryProblem(service, kv.Key, $"value of {kv.Value.Length} bytes is longer than {MaxValueBytes}; key skipped"));
            return false;
        }

        try
        {
            text = StrictUtf8.GetString(kv.Value.Span).Trim();
        }
        catch (DecoderFallbackException)
        {
            problems.Add(new RegistryProblem(service, kv.Key, "value is not UTF-8 text; key skipped"));
            return false;
        }

        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                problems.Add(new RegistryProblem(service, kv.Key, $"value '{Printable(text)}' holds control characters; key skipped"));
                return false;
            }
        }

        return true;
    }

    /// <summary>Makes a value safe to show in a log line or the status page (no control characters, bounded length).</summary>
    public static string Printable(string text)
    {
        const int MaxShown = 80;
        var builder = new StringBuilder(Math.Min(text.Length, MaxShown + 3));
        foreach (var c in text)
        {
            if (builder.Length >= MaxShown)
            {
                builder.Append("...");
                break;
            }

            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }
}
