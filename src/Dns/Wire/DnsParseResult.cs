namespace Router.Dns.Wire;

internal enum DnsParseResult
{
    Ok,

    /// <summary>Not even a header: nothing to answer to.</summary>
    NoHeader,

    /// <summary>A header but a broken body: worth a FORMERR.</summary>
    Malformed,
}
