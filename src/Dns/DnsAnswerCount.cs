namespace Router.Dns;

/// <summary>How many answers of one question type, source (local, cache, upstream, responder) and RCODE were given.</summary>
public sealed record DnsAnswerCount(string Type, string Source, string ResponseCode, long Count);
