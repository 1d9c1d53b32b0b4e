using Xunit;

namespace Router.Testing;

/// <summary>
/// The assembly's <see cref="SharedEtcd"/> as an xunit class or collection fixture. Disposing it leaves etcd
/// running: other classes still use it, and the process exit stops it.
/// </summary>
public sealed class SharedEtcdFixture : IAsyncLifetime
{
    private EtcdProcess? _etcd;

    public EtcdProcess Etcd => _etcd ?? throw new InvalidOperationException("etcd is not started");

    public async Task InitializeAsync() => _etcd = await SharedEtcd.GetAsync();

    public Task DisposeAsync() => Task.CompletedTask;
}
