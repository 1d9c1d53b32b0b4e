using System.Collections.Immutable;
using System.Text;
using Router.Registry;
using Router.Registry.Model;
using Router.Routing;

namespace Router.Tests;

/// <summary>
/// The apply path from etcd events to the route table (<see cref="RegistryState"/> then <see cref="RouteTable.Apply"/>),
/// fed duplicates and case variants, with re-reads in between: it never fails, and what it builds is what a
/// fresh read of the same keys builds.
/// </summary>
public sealed class RouteTableApplyTests
{
    private const string Prefix = "/services";

    // Case variants of one folder are one service; host ids that differ in case are two keys; the addresses
    // include one address written three ways (case, spaces) and two ids that share it.
    private static readonly string[] Folders = ["web", "WEB", "Web", "api"];
    private static readonly string[] HostIds = ["1", "2", "WEB", "web"];
    private static readonly string[] Addresses = ["127.0.0.1:8080", " 127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080", "[0:0::1]:8080", "10.0.0.2:80", "bad"];
    private static readonly string[] Schemes = ["http", "HTTP", "tcp", "bogus"];

    [Fact]
    public void Rebuild_TwoIdsOneAddress_BothRoutedUnderTheirIds()
    {
        var table = RouteTable.Empty.Rebuild(Snapshot(Entry("demo", ("1", "127.0.0.1"), ("2", "127.0.0.1"))));

        Assert.True(table.TryGet("demo", out var route));
        Assert.Equal(["1", "2"], route.Destinations.Select(d => d.Host.Id));
        Assert.All(route.Destinations, d => Assert.Equal("127.0.0.1:80", d.Host.Authority));
        Assert.Empty(table.Failures);
    }

    [Fact]
    public void Update_AfterDuplicateAddress_ChangesApply()
    {
        var table = RouteTable.Empty.Rebuild(Snapshot(Entry("demo", ("1", "127.0.0.1"), ("2", "127.0.0.1"))));
        Assert.True(table.TryGet("demo", out var before));

        var next = table.Update(Snapshot(Entry("demo", ("1", "127.0.0.1"), ("2", "127.0.0.1"), ("3", "10.0.0.3")) with { Private = true }), ["demo"]);
        Assert.True(next.TryGet("demo", out var after));
        Assert.True(after.Entry.Private);
        Assert.Equal(["1", "2", "3"], after.Destinations.Select(d => d.Host.Id));
        Assert.Same(before.Destinations[0], after.Destinations[0]);
        Assert.Same(before.Destinations[1], after.Destinations[1]);

        var emptied = next.Update(Snapshot(Entry("demo")), ["demo"]);
        Assert.True(emptied.TryGet("demo", out var none));
        Assert.Empty(none.Destinations);
        Assert.Empty(emptied.Failures);
    }

    [Fact]
    public void Update_OneServiceCannotBeBuilt_ItKeepsItsLastRouteOthersApplyAndFailureListed()
    {
        var table = RouteTable.Empty.Rebuild(Snapshot(Entry("bad", ("1", "10.0.0.1")), Entry("good", ("1", "10.0.0.2"))));
        Assert.True(table.TryGet("bad", out var lastGood));

        // Port 70000 never comes out of the parser; here it stands for any fault while building one route.
        var broken = Snapshot(EntryWithPorts("bad", ("1", "10.0.0.1", 80), ("2", "10.0.0.9", 70000)), Entry("good", ("1", "10.0.0.2"), ("2", "10.0.0.3")), Entry("new", ("1", "10.0.0.4")));
        var next = table.Update(broken, ["bad", "good", "new"]);

        Assert.True(next.TryGet("bad", out var kept));
        Assert.Same(lastGood, kept);
        Assert.True(next.TryGet("good", out var good));
        Assert.Equal(2, good.Destinations.Count);
        Assert.True(next.TryGet("new", out _));
        var failure = Assert.Single(next.Failures);
        Assert.Equal("bad", failure.Key);
        Assert.Contains("last good route is kept", failure.Value, StringComparison.Ordinal);

        var fixedUp = next.Update(Snapshot(Entry("bad", ("1", "10.0.0.1"), ("2", "10.0.0.9")), Entry("good", ("1", "10.0.0.2"))), ["bad"]);
        Assert.Empty(fixedUp.Failures);
        Assert.True(fixedUp.TryGet("bad", out var rebuilt));
        Assert.Equal(2, rebuilt.Destinations.Count);
    }

    [Fact]
    public void Rebuild_NewServiceCannotBeBuilt_NotRoutedOthersRoutedFailureListed()
    {
        var table = RouteTable.Empty.Rebuild(Snapshot(EntryWithPorts("bad", ("1", "10.0.0.1", -1)), Entry("good", ("1", "10.0.0.2"))));

        Assert.False(table.TryGet("bad", out _));
        Assert.True(table.TryGet("good", out _));
        Assert.Contains("service not routed", Assert.Single(table.Failures).Value, StringComparison.Ordinal);

        var removed = table.Update(Snapshot(Entry("good", ("1", "10.0.0.2"))), ["bad"]);
        Assert.Empty(removed.Failures);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Apply_RandomEventsWithDuplicatesCaseVariantsAndReReads_NeverFailsAndMatchesAFreshRead(int seed)
    {
        var random = new Random(seed);
        var layout = new RegistryLayout(Prefix);
        var state = new RegistryState(layout);
        var keys = new Dictionary<string, RegistryKeyValue>(StringComparer.Ordinal);
        var table = RouteTable.Empty;
        long revision = 1;

        for (var step = 0; step < 400; step++)
        {
            RegistryChange change;
            if (random.Next(10) == 0)
            {
                // A re-read (reconnect, compaction): every key at once.
                change = state.Load(keys.Values.ToList(), revision);
            }
            else
            {
                var events = new List<RegistryEvent>();
                for (var n = random.Next(1, 4); n > 0; n--)
                {
                    revision++;
                    var key = RandomKey(random);
                    if (random.Next(4) == 0)
                    {
                        keys.Remove(key, out var gone);
                        events.Add(new RegistryEvent(true, gone ?? new RegistryKeyValue(key, Array.Empty<byte>(), 0, revision)));
                    }
                    else
                    {
                        var created = keys.TryGetValue(key, out var old) ? old.CreateRevision : revision;
                        var kv = new RegistryKeyValue(key, Encoding.UTF8.GetBytes(RandomValue(random, key)), created, revision);
                        keys[key] = kv;
                        events.Add(new RegistryEvent(false, kv));
                    }
                }

                change = state.Apply(events, revision);
            }

            var previous = table;
            table = table.Apply(state.Snapshot, change);
            AssertMatches(state.Snapshot, table, $"seed {seed} step {step}");
            AssertReused(previous, table);

            // Incremental application ends where a fresh read of the same keys ends.
            var fresh = new RegistryState(layout);
            fresh.Load(keys.Values.ToList(), revision);
            AssertMatches(fresh.Snapshot, RouteTable.Empty.Rebuild(fresh.Snapshot), $"seed {seed} step {step} (fresh)");
            Assert.Equal(Describe(fresh.Snapshot), Describe(state.Snapshot));
        }
    }

    private static void AssertMatches(RegistrySnapshot snapshot, RouteTable table, string where)
    {
        Assert.True(table.Failures.IsEmpty, $"{where}: {string.Join("; ", table.Failures)}");
        Assert.Equal(snapshot.Services.Count, table.Count);
        foreach (var (name, entry) in snapshot.Services)
        {
            Assert.True(table.TryGet(name.ToUpperInvariant(), out var route), $"{where}: {name} not routed");
            Assert.Same(entry, route.Entry);
            Assert.Equal(entry.Hosts.Select(h => (h.Id, h.Authority)), route.Destinations.Select(d => (d.Host.Id, d.Host.Authority)));
            Assert.Equal(route.Destinations.Count, route.Destinations.Distinct().Count());
            if (route.Destinations.Count > 0)
            {
                Assert.InRange(route.Pick(0, 0), 0, route.Destinations.Count - 1);
            }
        }
    }

    private static void AssertReused(RouteTable previous, RouteTable current)
    {
        foreach (var route in current.Routes)
        {
            if (!previous.TryGet(route.Name, out var old))
            {
                continue;
            }

            var kept = old.Destinations.ToDictionary(ServiceRouteKey);
            foreach (var destination in route.Destinations)
            {
                if (kept.TryGetValue(ServiceRouteKey(destination), out var before))
                {
                    Assert.Same(before, destination);
                }
            }
        }

        static (string, string) ServiceRouteKey(Destination d) => (d.Host.Id, d.Host.Authority);
    }

    private static string Describe(RegistrySnapshot snapshot) => string.Join("\n", snapshot.Services.OrderBy(p => p.Key, StringComparer.Ordinal)
        .Select(p => $"{p.Key} {p.Value.Scheme} {p.Value.HostPort} {p.Value.Private} {string.Join(",", p.Value.Hosts.Select(h => $"{h.Id}={h.Authority}"))}"));

    private static string RandomKey(Random random)
    {
        var folder = Folders[random.Next(Folders.Length)];
        return random.Next(6) switch
        {
            0 => $"{Prefix}/{folder}/scheme",
            1 => $"{Prefix}/{folder}/private",
            2 => $"{Prefix}/{folder}/host_port",
            _ => $"{Prefix}/{folder}/hosts/{HostIds[random.Next(HostIds.Length)]}",
        };
    }

    private static string RandomValue(Random random, string key) =>
        key.EndsWith("/scheme", StringComparison.Ordinal) ? Schemes[random.Next(Schemes.Length)]
        : key.EndsWith("/host_port", StringComparison.Ordinal) ? (random.Next(3) == 0 ? "0" : "9000")
        : key.EndsWith("/private", StringComparison.Ordinal) ? "yes"
        : Addresses[random.Next(Addresses.Length)];

    private static ServiceEntry EntryWithPorts(string name, params (string Id, string Host, int Port)[] hosts) => new()
    {
        Name = name,
        Scheme = ServiceScheme.Http,
        Hosts = [.. hosts.Select((h, i) => new ServiceHost(h.Id, h.Host, h.Port, i + 1))],
    };

    private static ServiceEntry Entry(string name, params (string Id, string Host)[] hosts) =>
        EntryWithPorts(name, [.. hosts.Select(h => (h.Id, h.Host, 80))]);

    private static RegistrySnapshot Snapshot(params ServiceEntry[] entries) => new()
    {
        Services = entries.ToImmutableDictionary(e => e.Name, e => e),
    };
}
