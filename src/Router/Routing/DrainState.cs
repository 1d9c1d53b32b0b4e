namespace Router.Routing;

/// <summary>Set when shutdown starts: readiness and the load balancer's health check turn 503 at once.</summary>
internal sealed class DrainState
{
    private volatile bool _draining;

    public bool Draining => _draining;

    public void Start() => _draining = true;
}
