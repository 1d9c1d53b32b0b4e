using System.Globalization;
using System.Text;
using Router.Registry.Model;
using Router.Registry.Validation;

namespace Router.Registry;

/// <summary>
/// One registry change in words for the log: which services came, went or changed, and how
/// (<c>web: +host 3=10.0.0.7:80, -host 1=10.0.0.5:80</c>, <c>api: scheme http → https</c>).
/// </summary>
internal static class RegistryChangeText
{
    /// <summary>Services named in one line at most; a larger change (a full re-read of many) ends with a count.</summary>
    public const int MaxServices = 20;

    public static string Describe(RegistrySnapshot before, RegistrySnapshot after, RegistryChange change)
    {
        var parts = new List<string>();
        foreach (var name in change.Added)
        {
            if (after.Services.TryGetValue(name, out var entry))
            {
                parts.Add($"{name} added ({Summary(entry)})");
            }
        }

        foreach (var name in change.Removed)
        {
            parts.Add($"{name} removed");
        }

        foreach (var name in change.Changed)
        {
            if (before.Services.TryGetValue(name, out var old) && after.Services.TryGetValue(name, out var now))
            {
                parts.Add($"{name}: {Difference(old, now)}");
            }
        }

        if (parts.Count == 0)
        {
            return "no routed service changed";
        }

        return parts.Count <= MaxServices
            ? string.Join("; ", parts)
            : string.Join("; ", parts.Take(MaxServices)) + $"; and {parts.Count - MaxServices} more services";
    }

    private static string Summary(ServiceEntry entry)
    {
        var text = new StringBuilder(ServiceParser.SchemeText(entry.Scheme));
        text.Append(CultureInfo.InvariantCulture, $", {entry.Hosts.Length} host{(entry.Hosts.Length == 1 ? "" : "s")}");
        if (entry.HostPort is { } port)
        {
            text.Append(CultureInfo.InvariantCulture, $", host_port {port}");
        }

        if (entry.Private)
        {
            text.Append(", private");
        }

        if (entry.StripPath)
        {
            text.Append(", strip_path");
        }

        return text.ToString();
    }

    private static string Difference(ServiceEntry old, ServiceEntry now)
    {
        var parts = new List<string>();
        if (old.Scheme != now.Scheme)
        {
            parts.Add($"scheme {ServiceParser.SchemeText(old.Scheme)} → {ServiceParser.SchemeText(now.Scheme)}");
        }

        var oldHosts = old.Hosts.GroupBy(h => h.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var newHosts = now.Hosts.GroupBy(h => h.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var host in now.Hosts.Where(h => !oldHosts.ContainsKey(h.Id)))
        {
            parts.Add($"+host {host.Id}={host.Authority}");
        }

        foreach (var host in old.Hosts.Where(h => !newHosts.ContainsKey(h.Id)))
        {
            parts.Add($"-host {host.Id}={host.Authority}");
        }

        foreach (var host in now.Hosts.Where(h => oldHosts.TryGetValue(h.Id, out var was) && was.Authority != h.Authority))
        {
            parts.Add($"host {host.Id} {oldHosts[host.Id].Authority} → {host.Authority}");
        }

        if (old.HostPort != now.HostPort)
        {
            parts.Add((old.HostPort, now.HostPort) switch
            {
                (null, { } p) => $"host_port {p} set",
                ({ } p, null) => $"host_port {p} removed",
                var (a, b) => $"host_port {a} → {b}",
            });
        }

        if (old.Private != now.Private)
        {
            parts.Add(now.Private ? "private on" : "private off");
        }

        if (old.StripPath != now.StripPath)
        {
            parts.Add(now.StripPath ? "strip_path on" : "strip_path off");
        }

        if (parts.Count == 0)
        {
            // Same routing, other keys: a host re-registered (new create revision), a bad key added or fixed.
            parts.Add(old.Problems.SequenceEqual(now.Problems) ? "keys re-written, routing unchanged" : $"problems {old.Problems.Length} → {now.Problems.Length}");
        }

        return string.Join(", ", parts);
    }
}
