using Router.Testing;

namespace Router.Tests;

/// <summary>
/// The end-to-end classes that must not share the machine with other tests: xunit runs this collection after
/// all parallel ones, one class after another. Each class says at its attribute why it is here (it measures
/// memory, floods file descriptors, drives load and counts every answer, or writes to etcd in bulk). Every
/// other end-to-end class runs in parallel (xunit.runner.json bounds how many) on the assembly's one etcd.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneGroup : ICollectionFixture<SharedEtcdFixture>
{
    public const string Name = "alone";
}
