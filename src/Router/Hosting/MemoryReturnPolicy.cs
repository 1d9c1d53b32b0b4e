namespace Router.Hosting;

/// <summary>
/// When to give memory back after a burst (issue 14 §2): the runtime keeps the heap it grew to (free regions and a
/// large gen0 budget stay committed) and glibc keeps freed native blocks in its arenas, so without a push the
/// process stays near its peak once a flood of connections has gone. A return costs a blocking, compacting full
/// collection (tens of ms with a 10k-service table), so it is taken only when it pays: the process grew by at
/// least <see cref="Threshold"/> bytes of anonymous memory above its lowest point (the floor, reset by each
/// return), about as few descriptors are open again as at that lowest point (the burst is over: memory still in
/// use by open connections cannot be given back anyway; a burst shorter than the sampling period still counts,
/// as its memory stays), and the last return is at least <see cref="Spacing"/> ago. Load that keeps its
/// connections open never triggers it.
/// </summary>
internal sealed class MemoryReturnPolicy(long threshold, TimeSpan spacing)
{
    private long _floor = long.MaxValue;
    private int _floorDescriptors;
    private TimeSpan _lastReturn = TimeSpan.MinValue;

    public long Threshold { get; } = threshold;

    public TimeSpan Spacing { get; } = spacing;

    /// <summary>Takes one sample (anonymous RSS in bytes, open descriptors, monotonic time); true when memory should go back now.</summary>
    public bool Sample(long anonymousBytes, int descriptors, TimeSpan now)
    {
        if (anonymousBytes < _floor)
        {
            _floor = anonymousBytes;
            _floorDescriptors = descriptors;
        }

        return anonymousBytes - _floor >= Threshold
            && descriptors <= _floorDescriptors + Math.Max(64, _floorDescriptors / 2)
            && (_lastReturn == TimeSpan.MinValue || now - _lastReturn >= Spacing);
    }

    /// <summary>Records a return: what it left, with the descriptors open now, is the new floor.</summary>
    public void Returned(long anonymousBytesAfter, int descriptors, TimeSpan now)
    {
        _floor = anonymousBytesAfter;
        _floorDescriptors = descriptors;
        _lastReturn = now;
    }
}
