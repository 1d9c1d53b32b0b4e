using System.Collections.Immutable;
using Microsoft.Extensions.Time.Testing;
using Router.Registry.Model;
using Router.Routing;

namespace Router.Tests;

public sealed class RouteTableTests
{
    [Fact]
    public void Update_OneServiceChanged_OthersKeptAndHealthOfSameHostKept()
    {
        var time = new FakeTimeProvider();
        var api = Entry("api", "10.0.0.9");
        var v1 = Snapshot(Entry("web", "10.0.0.1", "10.0.0.2"), api);
        var table = RouteTable.Empty.Rebuild(v1);
        Assert.True(table.TryGet("web", out var web1));
        Assert.True(table.TryGet("api", out var api1));
        web1.Destinations[0].ReportConnectFailure(time);

        var v2 = Snapshot(Entry("web", "10.0.0.1", "10.0.0.3"), api);
        var next = table.Update(v2, ["web"]);

        Assert.True(next.TryGet("web", out var web2));
        Assert.True(next.TryGet("API", out var api2));
        Assert.Same(api1, api2);
        Assert.Same(web1.Destinations[0], web2.Destinations[0]);
        Assert.Equal(["10.0.0.1:80", "10.0.0.3:80"], web2.Destinations.Select(d => d.Host.Authority));
        Assert.True(table.TryGet("web", out var stillOld));
        Assert.Same(web1, stillOld);
    }

    [Fact]
    public void Update_ServiceRemoved_Gone()
    {
        var table = RouteTable.Empty.Rebuild(Snapshot(Entry("web", "10.0.0.1")));

        var next = table.Update(Snapshot(), ["web"]);

        Assert.False(next.TryGet("web", out _));
        Assert.Equal(0, next.Count);
    }

    private static ServiceEntry Entry(string name, params string[] hosts) => new()
    {
        Name = name,
        Scheme = ServiceScheme.Http,
        Hosts = [.. hosts.Select((h, i) => new ServiceHost(i.ToString(System.Globalization.CultureInfo.InvariantCulture), h, 80, i + 1))],
    };

    private static RegistrySnapshot Snapshot(params ServiceEntry[] entries) => new()
    {
        Services = entries.ToImmutableDictionary(e => e.Name, e => e),
    };
}
