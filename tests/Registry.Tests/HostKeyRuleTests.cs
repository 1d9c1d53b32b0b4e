using Router.Registry.Etcd;

namespace Router.Registry.Tests;

public sealed class HostKeyRuleTests
{
    private const string Address = "10.0.0.5:8080";
    private const long Lease = 7;

    [Fact]
    public void Decide_Missing_Write()
    {
        Assert.Equal((HostClaimOutcome.Write, "missing"), HostKeyRule.Decide(null, 0, Address, Lease, takeOverSameAddress: false));
    }

    [Fact]
    public void Decide_OwnAddressOwnLease_Held()
    {
        Assert.Equal(HostClaimOutcome.Held, HostKeyRule.Decide(Address, Lease, Address, Lease, takeOverSameAddress: false).Outcome);
    }

    [Fact]
    public void Decide_OtherValueOnOwnLease_WriteNamingTheValue()
    {
        var (outcome, reason) = HostKeyRule.Decide("10.0.0.6:1", Lease, Address, Lease, takeOverSameAddress: false);

        Assert.Equal(HostClaimOutcome.Write, outcome);
        Assert.Contains("10.0.0.6:1", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Address)]
    [InlineData("10.0.0.6:1")]
    public void Decide_NoLease_Write(string value)
    {
        var (outcome, reason) = HostKeyRule.Decide(value, 0, Address, Lease, takeOverSameAddress: false);

        Assert.Equal(HostClaimOutcome.Write, outcome);
        Assert.Contains("lease", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Decide_OtherAddressOtherLease_ConflictWhetherFreshOrNot(bool fresh)
    {
        Assert.Equal(HostClaimOutcome.Conflict, HostKeyRule.Decide("10.0.0.6:1", 99, Address, Lease, fresh).Outcome);
    }

    [Fact]
    public void Decide_OwnAddressOtherLease_TakenOverOnlyByAFreshRegistration()
    {
        Assert.Equal(HostClaimOutcome.Write, HostKeyRule.Decide(Address, 99, Address, Lease, takeOverSameAddress: true).Outcome);
        Assert.Equal(HostClaimOutcome.Shared, HostKeyRule.Decide(Address, 99, Address, Lease, takeOverSameAddress: false).Outcome);
    }

    [Fact]
    public void Decide_AddressDiffersOnlyInCase_IsAnotherAddress()
    {
        // Written byte for byte: a host name in other case is another value, and another owner's.
        Assert.Equal(HostClaimOutcome.Conflict, HostKeyRule.Decide("WEB-1:80", 99, "web-1:80", Lease, takeOverSameAddress: true).Outcome);
    }
}
