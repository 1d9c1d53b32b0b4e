namespace Router.Tests.GraphSample.Callee;

/// <summary>For ArchitectureTests: what <see cref="Caller.Caller"/> calls.</summary>
internal static class Callee
{
    public static int Answer() => 41;
}
