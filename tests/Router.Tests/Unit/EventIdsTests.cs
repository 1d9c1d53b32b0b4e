using Router.Testing;
using Xunit;

namespace Router.Tests;

/// <summary>Every log line of the router assembly has its own event id from EventIds, within 3000–3999 (docs/reference.md, "Log event ids").</summary>
public sealed class EventIdsTests
{
    [Fact]
    public void Every_logging_method_uses_one_EventIds_const_of_its_own_within_the_range()
    {
        var problems = EventIdRules.Problems(typeof(global::Router.EventIds).Assembly, typeof(global::Router.EventIds), 3000, 3999);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
