namespace Router.Routing;

/// <summary>
/// What a forwarding path keeps per host beside the <see cref="Destination"/> (the direct path's kept-alive
/// connections): typed here so a destination holds it in a field, one read on the hot path with no map, while
/// the path that fills it lives in its own folder. The destination's identity and health stay its own.
/// </summary>
internal abstract class DestinationPool
{
    /// <summary>The host left the registry: the pool closes what it keeps and takes nothing back.</summary>
    public abstract void Close();
}
