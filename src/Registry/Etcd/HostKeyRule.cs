using Router.Registry.Validation;

namespace Router.Registry.Etcd;

/// <summary>
/// Who owns the host key. The key belongs to the lease it is bound to: an announcer never takes a key that another
/// live lease holds with another address (the registration that came first keeps it, by etcd's own ordering of the
/// writes), and puts back a key that is missing, bound to no lease, or bound to its own lease with another value.
/// </summary>
internal static class HostKeyRule
{
    /// <summary>
    /// Decides from the key as read (<paramref name="value"/> null when the key is missing). A key with this address
    /// under another lease is taken over only when <paramref name="takeOverSameAddress"/> (a fresh registration, such
    /// as a restart after a crash, whose old lease still runs): during verification it is left, so two announcers
    /// with the same address never take it from each other in turn.
    /// </summary>
    public static (HostClaimOutcome Outcome, string Reason) Decide(string? value, long keyLease, string address, long lease, bool takeOverSameAddress)
    {
        if (value is null)
        {
            return (HostClaimOutcome.Write, "missing");
        }

        var same = string.Equals(value, address, StringComparison.Ordinal);
        if (keyLease == lease)
        {
            return same ? (HostClaimOutcome.Held, "") : (HostClaimOutcome.Write, $"held '{ServiceParser.Printable(value)}'");
        }

        if (keyLease == 0)
        {
            // A plain key has no owner to wait for, and would outlive every instance: bind it to this lease.
            return (HostClaimOutcome.Write, same ? "not bound to a lease" : $"held '{ServiceParser.Printable(value)}' without a lease");
        }

        if (same)
        {
            return takeOverSameAddress
                ? (HostClaimOutcome.Write, $"bound to lease {keyLease}")
                : (HostClaimOutcome.Shared, "");
        }

        return (HostClaimOutcome.Conflict, "");
    }
}
