using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>Unit files quoted in the docs are the shipped files, so a pasted excerpt is a working unit.</summary>
public sealed class DocsUnitExcerptTests
{
    [Fact]
    public void AnnouncerDoc_SidekickExcerpt_IsTheShippedUnitFromItsFirstSection()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "announcer.md"));
        var start = doc.IndexOf("```ini\n[Unit]", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/announcer.md has no ```ini block starting with [Unit]");
        var body = start + "```ini\n".Length;
        var excerpt = doc[body..doc.IndexOf("```", body, StringComparison.Ordinal)];

        var unit = UnitsFolder.Read("web-presence@.service");
        Assert.Equal(unit[unit.IndexOf("[Unit]", StringComparison.Ordinal)..], excerpt);
    }

    [Fact]
    public void AnnouncerDoc_SidekickExcerpt_HasNoEndOfLineComments()
    {
        // systemd has no end-of-line comments: "BindsTo=x # why" makes "# why" part of the value.
        var unit = UnitsFolder.Read("web-presence@.service");
        Assert.DoesNotContain(unit.Split('\n'), l => !l.TrimStart().StartsWith('#') && l.Contains(" #", StringComparison.Ordinal));
    }
}
