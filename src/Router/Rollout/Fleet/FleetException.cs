namespace Router.Rollout.Fleet;

/// <summary>fleet answered with an error (its <c>{"error":{"code","message"}}</c>), or not as documented.</summary>
internal sealed class FleetException(string message, int status) : Exception(message)
{
    public int Status { get; } = status;
}
