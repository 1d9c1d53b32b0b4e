namespace Router.Tcp;

/// <summary>
/// The wait after a failed accept. Out of descriptors (EMFILE/ENFILE) or buffers (ENOBUFS), accept fails
/// again at once until something closes, so retrying without a pause spins a core and floods the log;
/// the pause doubles from 5 ms to 1 s while failures go on and is forgotten at the first success.
/// </summary>
internal sealed class AcceptBackoff
{
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(5);
    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(1);

    private TimeSpan _next = First;

    /// <summary>The pause before the next accept, and doubles the one after it.</summary>
    public TimeSpan Next()
    {
        var now = _next;
        _next = now * 2 > Longest ? Longest : now * 2;
        return now;
    }

    public void Reset() => _next = First;
}
