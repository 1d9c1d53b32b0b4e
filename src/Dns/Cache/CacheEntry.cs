namespace Router.Dns.Cache;

/// <summary>An upstream answer as it came (full, never truncated), with where its TTLs are so they can count down.</summary>
internal sealed record CacheEntry(byte[] Message, int[] TtlOffsets, long StoredAt, long ExpiresAt);
