namespace Router.Metrics;

/// <summary>One service's TCP relay counters (Prometheus counters: they only grow).</summary>
internal sealed class TcpServiceCounters
{
    private long _accepted;
    private long _refused;
    private long _connectFailures;
    private long _bytesFromClients;
    private long _bytesToClients;

    /// <summary>Connections admitted (counted at accept, before the backend connect).</summary>
    public long Accepted => Volatile.Read(ref _accepted);

    /// <summary>Connections closed at once because a connection limit was reached.</summary>
    public long Refused => Volatile.Read(ref _refused);

    /// <summary>Backend connects that failed (refused, timed out); the next host is tried.</summary>
    public long ConnectFailures => Volatile.Read(ref _connectFailures);

    public long BytesFromClients => Volatile.Read(ref _bytesFromClients);

    public long BytesToClients => Volatile.Read(ref _bytesToClients);

    public void CountAccepted() => Interlocked.Increment(ref _accepted);

    public void CountRefused() => Interlocked.Increment(ref _refused);

    public void CountConnectFailure() => Interlocked.Increment(ref _connectFailures);

    public void AddFromClient(int bytes) => Interlocked.Add(ref _bytesFromClients, bytes);

    public void AddToClient(int bytes) => Interlocked.Add(ref _bytesToClients, bytes);
}
