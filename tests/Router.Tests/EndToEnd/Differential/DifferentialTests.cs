using System.Text.RegularExpressions;
using Router.Testing;

namespace Router.Tests.Differential;

/// <summary>
/// The same raw requests and scripted raw responses through the router's direct path (plain GET and HEAD
/// taken at the connection, and behind Kestrel's HTTP layer with <c>--http-forwarder kestrel</c>), its YARP path and a
/// real HAProxy: the router must do what HAProxy does, except for the intended differences each case
/// declares, and every one of those is documented in docs/routing.md.
/// </summary>
public sealed partial class DifferentialTests(SharedEtcdFixture fixture, DifferentialPeers peers) : IClassFixture<SharedEtcdFixture>, IClassFixture<DifferentialPeers>, IAsyncLifetime
{
    public static IEnumerable<object[]> Cases => DifferentialCases.Names;

    public Task InitializeAsync() => peers.StartAsync(fixture.Etcd);

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Case_BothRouterPaths_AsHaproxyBarIntendedDifferences(string name)
    {
        var @case = DifferentialCases.Named(name);
        var haproxy = await peers.RunAsync(@case, Peer.Haproxy);
        var direct = await peers.RunAsync(@case, Peer.Direct);
        var kestrel = await peers.RunAsync(@case, Peer.Kestrel);
        var yarp = await peers.RunAsync(@case, Peer.Yarp);
        var loops = await peers.RunAsync(@case, Peer.Loops);
        var report = $"case {name}\nHAProxy:\n{haproxy}\ndirect:\n{direct}\ndirect behind Kestrel:\n{kestrel}\nyarp:\n{yarp}\non the event loops:\n{loops}";

        AssertOnlyIntended(direct, haproxy, @case.Both, "direct", report);

        // The connection-level path and the direct path behind Kestrel's HTTP layer do exactly the same.
        Assert.True(direct.DiffersFrom(kestrel).Count == 0, $"the direct path differs with and without Kestrel's HTTP layer in {string.Join(", ", direct.DiffersFrom(kestrel))}\n{report}");

        // The HTTP port on the router's own event loops changes where the bytes are read and written, nothing else.
        Assert.True(direct.DiffersFrom(loops).Count == 0, $"the router differs on its event loops in {string.Join(", ", direct.DiffersFrom(loops))}\n{report}");
        AssertOnlyIntended(yarp, haproxy, [.. @case.Both, .. @case.YarpOnly], "yarp", report);

        // The two router paths agree with each other wherever no YARP-only difference is declared.
        if (@case.YarpOnly.Length == 0)
        {
            Assert.True(direct.DiffersFrom(yarp).Count == 0, $"the router's two paths differ in {string.Join(", ", direct.DiffersFrom(yarp))}\n{report}");
        }

        foreach (var observation in new[] { direct, kestrel, yarp, loops })
        {
            @case.Check?.Invoke(observation);

            // Nothing a client sends is forwarded with both framings (request smuggling), on any case.
            Assert.All(observation.RawBackend, r => Assert.False(r.Has("Transfer-Encoding") && r.Has("Content-Length"), report));
        }

        Assert.Empty(peers.Backend.Errors);
    }

    [Fact]
    public void IntendedDifferences_AreExactlyTheOnesDocumented()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "routing.md"));
        var start = doc.IndexOf("## Forwarding policy and how we differ from HAProxy", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/routing.md has no section \"Forwarding policy and how we differ from HAProxy\"");
        var end = doc.IndexOf("\n## ", start + 3, StringComparison.Ordinal);
        var section = end < 0 ? doc[start..] : doc[start..end];
        var documented = DifferenceRow().Matches(section).Select(m => m.Groups[1].Value).ToHashSet();

        var declared = IntendedDifference.All.Select(d => d.Id).ToHashSet();
        Assert.Equal(declared.Order(), documented.Order());

        // Every documented difference is shown by at least one case (or it would be a claim nobody checks).
        var used = DifferentialCases.All.SelectMany(c => c.Both.Concat(c.YarpOnly)).Select(d => d.Id).ToHashSet();
        Assert.Equal(declared.Order(), used.Order());
    }

    private static void AssertOnlyIntended(Observation router, Observation haproxy, IntendedDifference[] intended, string path, string report)
    {
        var differs = router.DiffersFrom(haproxy);
        var unexplained = differs.Where(a => !intended.Any(d => d.Aspects.Contains(a))).ToList();
        Assert.True(unexplained.Count == 0, $"{path} differs from HAProxy in {string.Join(", ", unexplained)}, which no intended difference of this case covers\n{report}");

        // A declared difference that does not show is stale: the case or the document must change.
        var stale = intended.Where(d => !d.Aspects.Any(differs.Contains)).ToList();
        Assert.True(stale.Count == 0, $"{path} was declared to differ by {string.Join(", ", stale)} but is the same as HAProxy\n{report}");
    }

    // A table row of the section whose first cell is an id in backquotes: "| `connection-named` | …".
    [GeneratedRegex(@"^\|\s*`([a-z0-9-]+)`\s*\|", RegexOptions.Multiline)]
    private static partial Regex DifferenceRow();
}
