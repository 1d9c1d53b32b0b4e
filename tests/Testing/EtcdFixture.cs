using Xunit;

namespace Router.Testing;

/// <summary>One etcd for a test collection; tests keep apart by using their own key prefix.</summary>
public sealed class EtcdFixture : IAsyncLifetime
{
    private EtcdProcess? _etcd;

    public EtcdProcess Etcd => _etcd ?? throw new InvalidOperationException("etcd is not started");

    public async Task InitializeAsync() => _etcd = await EtcdProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }
    }

    /// <summary>A prefix no other test uses, like <c>/t3f2a…/services</c>.</summary>
    public static string NewPrefix() => $"/t{Guid.NewGuid():N}/services";
}
