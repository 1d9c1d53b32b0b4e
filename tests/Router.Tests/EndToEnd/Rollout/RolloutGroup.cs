using Router.Testing;

namespace Router.Tests.Rollout;

/// <summary>The rollout end-to-end tests share one etcd of their own and run one after another (each runs many processes).</summary>
[CollectionDefinition(Name)]
public sealed class RolloutGroup : ICollectionFixture<EtcdFixture>
{
    public const string Name = "rollout";
}
