using Router.Testing;

namespace Router.Tests.Rollout;

/// <summary>The rollout end-to-end tests share the assembly's etcd and run one after another (each runs many processes).</summary>
[CollectionDefinition(Name)]
public sealed class RolloutGroup : ICollectionFixture<SharedEtcdFixture>
{
    public const string Name = "rollout";
}
