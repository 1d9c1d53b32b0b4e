namespace Router.Loops;

/// <summary>
/// Lets one log line through per interval and counts the ones held back, so an event that repeats under
/// a flood (refused connections, failed accepts) costs a bounded number of lines however fast it comes.
/// </summary>
internal sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private readonly Lock _gate = new();
    private long _last;
    private bool _any;
    private int _suppressed;

    /// <summary>True when a line may be written now; <paramref name="suppressed"/> is how many were held back since the last one.</summary>
    public bool TryEnter(out int suppressed)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_any && time.GetElapsedTime(_last, now) < interval)
            {
                _suppressed++;
                suppressed = 0;
                return false;
            }

            _any = true;
            _last = now;
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
