using System.Collections.Immutable;
using Router.Registry.Model;
using Router.Registry.Validation;

namespace Router.Registry;

/// <summary>
/// The registry's keys and the snapshot built from them. A change re-parses only the service folders it
/// touches, so one host coming or going costs the same with ten services as with ten thousand.
/// Not thread-safe: one watcher owns it; readers use the immutable <see cref="Snapshot"/>.
/// </summary>
public sealed class RegistryState
{
    private readonly RegistryLayout _layout;
    private ImmutableDictionary<string, ImmutableDictionary<string, RegistryKeyValue>> _folders =
        ImmutableDictionary<string, ImmutableDictionary<string, RegistryKeyValue>>.Empty;
    private ImmutableDictionary<string, ImmutableArray<RegistryProblem>> _folderProblems =
        ImmutableDictionary<string, ImmutableArray<RegistryProblem>>.Empty;

    /// <summary>
    /// The services that name a host_port, kept as changes come: settling the port claims then reads these few,
    /// not every service, so a change costs the same with ten thousand services as with ten.
    /// </summary>
    private readonly Dictionary<string, ServiceEntry> _claimants = new(StringComparer.Ordinal);

    public RegistryState(RegistryLayout layout)
    {
        _layout = layout;
    }

    public RegistrySnapshot Snapshot { get; private set; } = RegistrySnapshot.Empty;

    /// <summary>
    /// Every key under the prefix as of <see cref="Snapshot"/>. The sequence reads an immutable copy, so it
    /// can be enumerated later on another thread (to save it) while the state moves on.
    /// </summary>
    public IEnumerable<RegistryKeyValue> Keys
    {
        get
        {
            var folders = _folders;
            return folders.Values.SelectMany(f => f.Values);
        }
    }

    /// <summary>Replaces everything with a full read of the prefix taken at <paramref name="revision"/>.</summary>
    public RegistryChange Load(IEnumerable<RegistryKeyValue> keys, long revision)
    {
        var before = Snapshot.Services;
        var folders = new Dictionary<string, ImmutableDictionary<string, RegistryKeyValue>.Builder>(StringComparer.Ordinal);
        foreach (var kv in keys)
        {
            if (!_layout.TrySplit(kv.Key, out var folder, out _))
            {
                continue;
            }

            var group = folder.ToLowerInvariant();
            if (!folders.TryGetValue(group, out var builder))
            {
                builder = ImmutableDictionary.CreateBuilder<string, RegistryKeyValue>(StringComparer.Ordinal);
                folders[group] = builder;
            }

            builder[kv.Key] = kv;
        }

        _folders = folders.ToImmutableDictionary(p => p.Key, p => p.Value.ToImmutable(), StringComparer.Ordinal);
        _folderProblems = ImmutableDictionary<string, ImmutableArray<RegistryProblem>>.Empty;
        var services = ImmutableDictionary.CreateBuilder<string, ServiceEntry>(StringComparer.Ordinal);
        var problems = ImmutableDictionary.CreateBuilder<string, ImmutableArray<RegistryProblem>>(StringComparer.Ordinal);
        foreach (var (group, folderKeys) in _folders)
        {
            var entry = ParseFolder(folderKeys, out var folderProblems);
            if (entry is not null)
            {
                services[group] = entry;
            }

            if (!folderProblems.IsEmpty)
            {
                problems[group] = folderProblems;
            }
        }

        _folderProblems = problems.ToImmutable();
        var after = services.ToImmutable();
        _claimants.Clear();
        foreach (var (group, entry) in after)
        {
            Claim(group, entry);
        }

        Publish(after, revision);

        var added = after.Keys.Where(k => !before.ContainsKey(k)).Order(StringComparer.Ordinal).ToImmutableArray();
        var removed = before.Keys.Where(k => !after.ContainsKey(k)).Order(StringComparer.Ordinal).ToImmutableArray();
        var changed = after.Where(p => before.TryGetValue(p.Key, out var old) && !SameService(old, p.Value))
            .Select(p => p.Key).Order(StringComparer.Ordinal).ToImmutableArray();
        return new RegistryChange(revision, added, removed, changed, FullReload: true);
    }

    /// <summary>Applies watch events (in etcd order) and publishes the snapshot at <paramref name="revision"/>.</summary>
    public RegistryChange Apply(IReadOnlyList<RegistryEvent> events, long revision)
    {
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var folders = _folders.ToBuilder();
        foreach (var e in events)
        {
            if (!_layout.TrySplit(e.KeyValue.Key, out var folder, out _))
            {
                continue;
            }

            var group = folder.ToLowerInvariant();
            touched.Add(group);
            var keys = folders.TryGetValue(group, out var existing) ? existing : ImmutableDictionary<string, RegistryKeyValue>.Empty.WithComparers(StringComparer.Ordinal);
            keys = e.IsDelete ? keys.Remove(e.KeyValue.Key) : keys.SetItem(e.KeyValue.Key, e.KeyValue);
            if (keys.IsEmpty)
            {
                folders.Remove(group);
            }
            else
            {
                folders[group] = keys;
            }
        }

        _folders = folders.ToImmutable();
        var services = Snapshot.Services.ToBuilder();
        var problems = _folderProblems.ToBuilder();
        var added = ImmutableArray.CreateBuilder<string>();
        var removed = ImmutableArray.CreateBuilder<string>();
        var changed = ImmutableArray.CreateBuilder<string>();
        foreach (var group in touched.Order(StringComparer.Ordinal))
        {
            ServiceEntry? entry = null;
            var folderProblems = ImmutableArray<RegistryProblem>.Empty;
            if (_folders.TryGetValue(group, out var keys))
            {
                entry = ParseFolder(keys, out folderProblems);
            }

            if (folderProblems.IsEmpty)
            {
                problems.Remove(group);
            }
            else
            {
                problems[group] = folderProblems;
            }

            Claim(group, entry);
            var had = services.TryGetValue(group, out var old);
            if (entry is null)
            {
                if (had)
                {
                    services.Remove(group);
                    removed.Add(group);
                }
            }
            else if (!had)
            {
                services[group] = entry;
                added.Add(group);
            }
            else if (!SameService(old!, entry))
            {
                services[group] = entry;
                changed.Add(group);
            }
        }

        _folderProblems = problems.ToImmutable();
        Publish(services.ToImmutable(), revision);
        return new RegistryChange(revision, added.ToImmutable(), removed.ToImmutable(), changed.ToImmutable(), FullReload: false);
    }

    private ServiceEntry? ParseFolder(ImmutableDictionary<string, RegistryKeyValue> keys, out ImmutableArray<RegistryProblem> problems)
    {
        // Folders that differ only in case are one service; a key present in both keeps the older copy, by
        // etcd's create revision, so every node picks the same one.
        var byRest = new Dictionary<string, RegistryKeyValue>(StringComparer.Ordinal);
        string? folderName = null;
        foreach (var kv in keys.Values.OrderBy(k => k.CreateRevision).ThenBy(k => k.Key, StringComparer.Ordinal))
        {
            _layout.TrySplit(kv.Key, out var folder, out var rest);
            folderName ??= folder;
            byRest.TryAdd(rest, kv);
        }

        return ServiceParser.Parse(folderName!, byRest, out problems);
    }

    private void Claim(string group, ServiceEntry? entry)
    {
        if (entry?.HostPort is null)
        {
            _claimants.Remove(group);
        }
        else
        {
            _claimants[group] = entry;
        }
    }

    private void Publish(ImmutableDictionary<string, ServiceEntry> services, long revision)
    {
        // host_port claims: the key with the lower create revision keeps a port, on every node alike. Winners
        // first, then the losers, so that each loser's problem names the service that kept the port whatever
        // order the claimants are read in.
        var owners = new SortedDictionary<int, ServiceEntry>();
        var conflicts = ImmutableArray.CreateBuilder<RegistryProblem>();
        foreach (var service in _claimants.Values)
        {
            var port = service.HostPort!.Value;
            if (_layout.ReservedPorts.TryGetValue(port, out var option))
            {
                conflicts.Add(new RegistryProblem(service.Name, _layout.HostPort(service.Name), $"host_port {port} is the router's own port ({option}); not served"));
            }
            else if (!owners.TryGetValue(port, out var owner) || Older(service, owner))
            {
                owners[port] = service;
            }
        }

        foreach (var service in _claimants.Values)
        {
            if (owners.TryGetValue(service.HostPort!.Value, out var owner) && !ReferenceEquals(owner, service))
            {
                conflicts.Add(new RegistryProblem(service.Name, _layout.HostPort(service.Name),
                    $"host_port {owner.HostPort} is already claimed by service '{owner.Name}' (older key); host_port ignored"));
            }
        }

        var allProblems = ImmutableArray.CreateBuilder<RegistryProblem>();
        foreach (var group in _folderProblems.Keys.Order(StringComparer.Ordinal))
        {
            allProblems.AddRange(_folderProblems[group]);
        }

        allProblems.AddRange(conflicts.OrderBy(p => p.Service, StringComparer.Ordinal));
        Snapshot = new RegistrySnapshot
        {
            Revision = revision,
            Services = services,
            HostPorts = owners.ToImmutableSortedDictionary(p => p.Key, p => p.Value.Name),
            Problems = allProblems.ToImmutable(),
        };

        static bool Older(ServiceEntry a, ServiceEntry b) => a.HostPortCreateRevision != b.HostPortCreateRevision
            ? a.HostPortCreateRevision < b.HostPortCreateRevision
            : string.CompareOrdinal(a.Name, b.Name) < 0;
    }

    private static bool SameService(ServiceEntry a, ServiceEntry b) =>
        a.Scheme == b.Scheme && a.HostPort == b.HostPort && a.HostPortCreateRevision == b.HostPortCreateRevision
        && a.Private == b.Private && a.StripPath == b.StripPath && a.Hosts.SequenceEqual(b.Hosts) && a.Problems.SequenceEqual(b.Problems);
}
