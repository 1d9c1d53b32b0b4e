using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>Tests that share one etcd; each uses its own key prefix.</summary>
[CollectionDefinition(Name)]
public sealed class EtcdTests : ICollectionFixture<EtcdFixture>
{
    public const string Name = "etcd";
}
