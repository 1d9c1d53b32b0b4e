namespace Router.Routing;

/// <summary>
/// The hosts one request (or one TCP connection) may try, in turn: each at most once, usable ones first
/// (see <see cref="ServiceRoute.Pick"/>), at most a fixed number. Used by the HTTP retry and the TCP
/// connect alike, so both fail over by the same rule.
/// </summary>
internal struct DestinationWalk(ServiceRoute route, int maxAttempts)
{
    private readonly int _attempts = Math.Min(route.Destinations.Count, maxAttempts);
    private ulong _tried;
    private int _attempt;

    /// <summary>The next host to try, or false when the attempts or the hosts are used up.</summary>
    public bool TryNext(long nowTimestamp, out Destination destination)
    {
        destination = null!;
        if (_attempt >= _attempts)
        {
            return false;
        }

        var index = route.Pick(nowTimestamp, _tried);
        if (index < 0)
        {
            return false;
        }

        _attempt++;
        _tried |= ServiceRoute.Bit(index);
        destination = route.Destinations[index];
        return true;
    }
}
