using Router.Testing;
using Xunit;

namespace Router.Announcer.Tests;

/// <summary>Every log line of the announcer assembly has its own event id from EventIds, within 4000–4999 (docs/reference.md, "Log event ids").</summary>
public sealed class EventIdsTests
{
    [Fact]
    public void Every_logging_method_uses_one_EventIds_const_of_its_own_within_the_range()
    {
        var problems = EventIdRules.Problems(typeof(global::Router.Announcer.EventIds).Assembly, typeof(global::Router.Announcer.EventIds), 4000, 4999);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
