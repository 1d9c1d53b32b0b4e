namespace Router.Cluster.Tests;

[CollectionDefinition(Name)]
public sealed class ClusterGroup : ICollectionFixture<ClusterBox>
{
    public const string Name = "cluster in a box";
}
