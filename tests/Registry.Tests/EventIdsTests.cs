using Router.Testing;
using Xunit;

namespace Router.Registry.Tests;

/// <summary>Every log line of the Router.Registry assembly has its own event id from EventIds, within 1000–1999 (docs/reference.md, "Log event ids").</summary>
public sealed class EventIdsTests
{
    [Fact]
    public void Every_logging_method_uses_one_EventIds_const_of_its_own_within_the_range()
    {
        var problems = EventIdRules.Problems(typeof(global::Router.Registry.EventIds).Assembly, typeof(global::Router.Registry.EventIds), 1000, 1999);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
