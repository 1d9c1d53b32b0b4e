namespace Router.Tests;

/// <summary>A test that needs Debian's Chromium (<c>apt-get install -y chromium</c>); skipped, saying so, where it is absent.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Executable = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Executable))
        {
            Skip = $"{Executable} is not installed (apt-get install -y chromium; scripts/test and .ci/run install it)";
        }
    }
}
