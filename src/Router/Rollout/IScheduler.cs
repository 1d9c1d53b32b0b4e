namespace Router.Rollout;

/// <summary>
/// Where instances run: fleet, local processes. An instance is a pair, the service <c>NAME@N</c> and its
/// sidekick <c>NAME-presence@N</c> (the announcer that registers it); both start and stop together, except
/// that withdrawing stops the sidekick alone, so the host key goes before the service does.
/// </summary>
internal interface IScheduler
{
    /// <summary>Every instance of <paramref name="service"/> the scheduler knows, with its version.</summary>
    Task<IReadOnlyList<SchedulerInstance>> ListAsync(string service, CancellationToken cancellationToken);

    /// <summary>False when one more instance cannot be placed (every slot or node taken).</summary>
    Task<bool> CanPlaceAsync(string service, CancellationToken cancellationToken);

    /// <summary>Starts instance <paramref name="number"/> at <paramref name="version"/> with its sidekick.</summary>
    Task StartAsync(string service, int number, string version, CancellationToken cancellationToken);

    /// <summary>Stops the sidekick only: its announcer deletes the host key and drains.</summary>
    Task WithdrawAsync(string service, int number, CancellationToken cancellationToken);

    /// <summary>Stops the instance and its sidekick and forgets both.</summary>
    Task RemoveAsync(string service, int number, CancellationToken cancellationToken);
}
