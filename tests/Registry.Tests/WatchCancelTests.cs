using Grpc.Core;
using Router.Registry.Etcd;

namespace Router.Registry.Tests;

public sealed class WatchCancelTests
{
    [Theory]
    [InlineData("rpc error: code = Unauthenticated desc = etcdserver: invalid auth token")]
    [InlineData("etcdserver: permission denied")]
    [InlineData("etcdserver: revision of auth store is old")]
    public void CancelledByEtcd_TokenReasons_AuthFailure(string reason)
    {
        var error = RegistryWatcher.CancelledByEtcd(reason);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.True(EtcdConnection.IsAuthFailure(error));
    }

    [Theory]
    [InlineData("etcdserver: mvcc: required revision has been compacted")]
    [InlineData("")]
    public void CancelledByEtcd_OtherReasons_Unavailable(string reason)
    {
        var error = RegistryWatcher.CancelledByEtcd(reason);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.False(EtcdConnection.IsAuthFailure(error));
        Assert.True(EtcdConnection.IsRetryable(error));
    }
}
