namespace Router.Registry.Validation;

/// <summary>Service names are DNS labels: <c>[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?</c>, compared case-insensitively.</summary>
public static class ServiceName
{
    public const int MaxLength = 63;

    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxLength || name[0] == '-' || name[^1] == '-')
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
            {
                return false;
            }
        }

        return true;
    }
}
