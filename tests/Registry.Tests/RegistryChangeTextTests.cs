using System.Text;
using Router.Registry.Model;

namespace Router.Registry.Tests;

/// <summary>The change line of the log: built from two real snapshots of <see cref="RegistryState"/>.</summary>
public sealed class RegistryChangeTextTests
{
    private const string P = "/services/";
    private readonly RegistryState _state = new(new RegistryLayout());
    private long _revision;

    [Fact]
    public void Describe_HostsAddedRemovedMoved_EachNamedWithItsAddress()
    {
        Load(Kv("web/scheme", "http"), Kv("web/hosts/1", "10.0.0.1:80"), Kv("web/hosts/2", "10.0.0.2:80"));

        var text = Apply(Put("web/hosts/3", "10.0.0.3:80"), Delete("web/hosts/1"), Put("web/hosts/2", "10.0.0.9:80"));

        Assert.Equal("web: +host 3=10.0.0.3:80, -host 1=10.0.0.1:80, host 2 10.0.0.2:80 → 10.0.0.9:80", text);
    }

    [Fact]
    public void Describe_SchemePrivateStripPathHostPort_EachSaid()
    {
        Load(Kv("web/scheme", "http"), Kv("web/host_port", "8081"));

        Assert.Equal("web: scheme http → https", Apply(Put("web/scheme", "https")));
        Assert.Equal("web: private on", Apply(Put("web/private", "")));
        Assert.Equal("web: private off", Apply(Delete("web/private")));
        Assert.Equal("web: strip_path on", Apply(Put("web/strip_path", "true")));
        Assert.Equal("web: host_port 8081 → 8082", Apply(Put("web/host_port", "8082")));
        Assert.Equal("web: host_port 8082 removed", Apply(Delete("web/host_port")));
    }

    [Fact]
    public void Describe_ServiceAddedAndRemoved_WithWhatItIs()
    {
        Load(Kv("old/scheme", "http"));

        Assert.Equal("db added (tcp, 1 host, host_port 5432, private)", Apply(Put("db/scheme", "tcp"), Put("db/host_port", "5432"), Put("db/hosts/1", "10.0.0.5:5432"), Put("db/private", "1")));
        Assert.Equal("old removed", Apply(Delete("old/scheme")));
    }

    [Fact]
    public void Describe_OnlyABadKeyAdded_SaysProblemsChanged()
    {
        Load(Kv("web/scheme", "http"), Kv("web/hosts/1", "10.0.0.1:80"));

        Assert.Equal("web: problems 0 → 1", Apply(Put("web/hosts/2", "nonsense")));
    }

    [Fact]
    public void Describe_ManyServices_ListCappedWithACount()
    {
        Load();
        var puts = Enumerable.Range(0, RegistryChangeText.MaxServices + 5).Select(i => Put($"s{i:D2}/scheme", "http")).ToArray();

        var text = Apply(puts);

        Assert.EndsWith("; and 5 more services", text, StringComparison.Ordinal);
        Assert.Equal(RegistryChangeText.MaxServices + 1, text.Split("; ").Length);
    }

    private void Load(params RegistryKeyValue[] keys) => _state.Load(keys, ++_revision);

    private string Apply(params RegistryEvent[] events)
    {
        var before = _state.Snapshot;
        var change = _state.Apply(events, ++_revision);
        return RegistryChangeText.Describe(before, _state.Snapshot, change);
    }

    private RegistryKeyValue Kv(string rest, string value)
    {
        _revision++;
        return new RegistryKeyValue(P + rest, Encoding.UTF8.GetBytes(value), _revision, _revision);
    }

    private RegistryEvent Put(string rest, string value) => new(false, Kv(rest, value));

    private RegistryEvent Delete(string rest) => new(true, Kv(rest, ""));
}
