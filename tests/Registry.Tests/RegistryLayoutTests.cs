namespace Router.Registry.Tests;

public sealed class RegistryLayoutTests
{
    [Theory]
    [InlineData("/services", "/services")]
    [InlineData("/services/", "/services")]
    [InlineData(" /a/b// ", "/a/b")]
    [InlineData("/Svc-1.x", "/Svc-1.x")]
    public void TryNormalizePrefix_Folder_Accepted(string text, string expected)
    {
        Assert.True(RegistryLayout.TryNormalizePrefix(text, out var prefix, out var error));
        Assert.Equal(expected, prefix);
        Assert.Equal("", error);
        Assert.Equal(expected, new RegistryLayout(text).Prefix);
    }

    [Theory]
    [InlineData("", "must start with '/'")]
    [InlineData("/", "must start with '/'")]
    [InlineData("services", "must start with '/'")]
    [InlineData("/a//b", "empty segment")]
    [InlineData("/a b", "spaces or control characters")]
    [InlineData("/a\tb", "spaces or control characters")]
    [InlineData("/a\u0001b", "spaces or control characters")]
    public void TryNormalizePrefix_NotAFolder_RefusedWithReason(string text, string reason)
    {
        Assert.False(RegistryLayout.TryNormalizePrefix(text, out var prefix, out var error));
        Assert.Equal("", prefix);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Contains(reason, Assert.Throws<ArgumentException>(() => new RegistryLayout(text)).Message, StringComparison.Ordinal);
    }
}
