namespace Router.Tests.GraphSample.Caller;

/// <summary>For ArchitectureTests: uses the callee folder only inside a method body, never in a signature.</summary>
internal static class Caller
{
    public static int Run() => Callee.Callee.Answer() + 1;
}
