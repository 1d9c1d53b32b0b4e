namespace Router.Cluster.Tests;

/// <summary>What a <see cref="Load"/> counted: 200s, failures by kind, and the first body line of each 200 (which instance answered).</summary>
public sealed record LoadResult(int Ok, int Failed, Dictionary<string, int> Errors, Dictionary<string, int> Bodies)
{
    public override string ToString() =>
        $"{Ok} ok, {Failed} failed ({string.Join(", ", Errors.Select(e => $"{e.Key}: {e.Value}"))}); answered by {string.Join(", ", Bodies.Select(b => $"'{b.Key}': {b.Value}"))}";
}
