namespace Router.Registry.Etcd;

/// <summary>
/// The host key after a claim: <see cref="Reason"/> says what was put back (for <see cref="HostClaimOutcome.Write"/>);
/// <see cref="HolderAddress"/> and <see cref="HolderLease"/> name the other registration for
/// <see cref="HostClaimOutcome.Shared"/> and <see cref="HostClaimOutcome.Conflict"/>.
/// </summary>
public readonly record struct HostClaim(HostClaimOutcome Outcome, string Reason = "", string HolderAddress = "", long HolderLease = 0);
