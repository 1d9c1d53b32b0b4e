namespace Router.Cluster.Tests;

/// <summary>The box with routers from the image; runs after or before <see cref="ClusterGroup"/>, never beside it (one box at a time).</summary>
[CollectionDefinition(Name)]
public sealed class ImageClusterGroup : ICollectionFixture<ImageClusterBox>
{
    public const string Name = "cluster in a box, routers from the image";
}
