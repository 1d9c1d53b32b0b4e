namespace Router.Announcer.Health;

/// <summary>What one check result did to the health state, for the log.</summary>
internal enum HealthTransition
{
    /// <summary>Passed while healthy, nothing to say.</summary>
    None,

    /// <summary>First pass after unhealthy (or at start): register.</summary>
    BecameHealthy,

    /// <summary>The last allowed failure in a row: withdraw.</summary>
    BecameUnhealthy,

    /// <summary>Failed while healthy, below the limit: stay registered.</summary>
    FailedBelowLimit,

    /// <summary>Passed again while healthy, after failures below the limit.</summary>
    RecoveredBelowLimit,

    /// <summary>Failed while unhealthy already.</summary>
    StillUnhealthy,
}
