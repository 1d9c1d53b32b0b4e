namespace Router.Testing;

/// <summary>One failed request of a <see cref="LoadClient"/>: when (seconds since the load started) and what.</summary>
public sealed record LoadFailure(double AtSeconds, string What);
