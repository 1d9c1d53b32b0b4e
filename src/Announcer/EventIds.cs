namespace Router.Announcer;

/// <summary>
/// The event id of every log line this assembly writes (health checks and registration), one const per [LoggerMessage].
/// The product's ids are unique across all assemblies: Registry 1000–1999, DNS 2000–2999, router 3000–3999,
/// announcer 4000–4999, so one number found in a log names one line (docs/reference.md, "Log event ids").
/// EventIdsTests in the test project check that every [LoggerMessage] here uses one, once, within 4000–4999.
/// </summary>
internal static class EventIds
{
    // HealthMonitor
    public const int HealthChecking = 4000;
    public const int HealthPassed = 4001;
    public const int HealthFailed = 4002;
    public const int HealthFailedOnce = 4003;
    public const int HealthRecoveredBeforeWithdraw = 4004;
    public const int HealthNotHealthy = 4005;

    // RegistrationService
    public const int RegistrationStarting = 4200;
    public const int RegistrationLeaseGranted = 4201;
    public const int RegistrationRegistered = 4202;
    public const int RegistrationWithdrawn = 4203;
    public const int RegistrationLeaseLost = 4204;
    public const int RegistrationEtcdUnavailable = 4205;
    public const int RegistrationEtcdBack = 4206;
    public const int RegistrationEtcdBackUnhealthy = 4207;
    public const int RegistrationEtcdUnavailableRegistered = 4208;
    public const int RegistrationProbablyExpired = 4209;
    public const int RegistrationWithdrawing = 4210;
    public const int RegistrationWithdrawnOnStop = 4211;
    public const int RegistrationNothingToWithdraw = 4212;
    public const int RegistrationDraining = 4213;
    public const int RegistrationDrained = 4214;
    public const int RegistrationDrainCutShort = 4215;
    public const int RegistrationCrashed = 4220;
    public const int RegistrationHostKeyRestored = 4230;
    public const int RegistrationConflict = 4231;
    public const int RegistrationConflictOver = 4232;
    public const int RegistrationShared = 4233;
    public const int RegistrationStoppingNotRegistered = 4234;
}
