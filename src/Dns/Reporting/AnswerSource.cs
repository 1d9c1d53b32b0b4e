namespace Router.Dns.Reporting;

/// <summary>Where an answer came from; the values index <see cref="DnsStatistics.Sources"/>.</summary>
internal enum AnswerSource
{
    /// <summary>The zone's own names.</summary>
    Local = 0,

    /// <summary>An upstream answer kept in the cache.</summary>
    Cache = 1,

    /// <summary>An upstream answer fetched for this query.</summary>
    Upstream = 2,

    /// <summary>An error the responder wrote itself: REFUSED, FORMERR, NOTIMP, BADVERS, SERVFAIL when no upstream answered.</summary>
    Responder = 3,
}
