namespace Router.Registry;

/// <summary>
/// The event id of every log line this assembly writes (etcd connection, registry watcher, saved registry, problems, leased registration), one const per [LoggerMessage].
/// The product's ids are unique across all assemblies: Registry 1000–1999, DNS 2000–2999, router 3000–3999,
/// announcer 4000–4999, so one number found in a log names one line (docs/reference.md, "Log event ids").
/// EventIdsTests in the test project check that every [LoggerMessage] here uses one, once, within 1000–1999.
/// </summary>
internal static class EventIds
{
    // RegistryWatcher
    public const int RegistryLoaded = 1001;
    public const int RegistryApplied = 1002;
    public const int RegistryNotApplied = 1003;
    public const int RegistryWatchFailed = 1004;
    public const int RegistryWatching = 1005;
    public const int RegistryCompacted = 1006;
    public const int RegistryHandlerFailed = 1007;
    public const int RegistryWatcherDied = 1008;
    public const int RegistryWarmupFailed = 1009;

    // RegistryStateSaver
    public const int SavedRegistrySeeded = 1020;
    public const int SavedRegistryNotSeeded = 1021;
    public const int SavedRegistrySaveFailed = 1022;

    // ProblemLog
    public const int ProblemFound = 1030;
    public const int ProblemResolved = 1031;

    // EtcdConnection
    public const int EtcdFailedOver = 1100;
    public const int EtcdAuthenticated = 1101;
    public const int EtcdLoginRefused = 1102;
    public const int EtcdServerCertificateRejected = 1103;

    // LeasedRegistration
    public const int LeaseServiceKeyWritten = 1200;
    public const int LeaseRevokeFailed = 1201;
    public const int LeaseServiceKeyDiffers = 1202;
}
