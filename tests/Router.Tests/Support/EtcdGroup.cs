using Router.Testing;

namespace Router.Tests;

[CollectionDefinition(Name)]
public sealed class EtcdGroup : ICollectionFixture<EtcdFixture>
{
    public const string Name = "etcd";
}
