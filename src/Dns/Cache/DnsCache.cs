using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Router.Dns.Wire;

namespace Router.Dns.Cache;

/// <summary>
/// Upstream answers by question. The key is the lower-cased name, type, class and the query bits that change
/// an answer (EDNS present, DO, CD, RD), so a DNSSEC-aware client never gets an answer fetched for one that is not.
/// </summary>
internal sealed class DnsCache
{
    public const int MaxKeyLength = DnsName.MaxLength + 5;

    private const byte EdnsBit = 1;
    private const byte DnssecOkBit = 2;
    private const byte CheckingDisabledBit = 4;
    private const byte RecursionDesiredBit = 8;

    private readonly ConcurrentDictionary<byte[], CacheEntry> _entries = new(CacheKeyComparer.Instance);
    private readonly ConcurrentDictionary<byte[], CacheEntry>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly Lock _sweep = new();
    private int _count;

    public DnsCache(int capacity, TimeProvider time)
    {
        _capacity = Math.Max(capacity, 1);
        _time = time;
        _lookup = _entries.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count => Volatile.Read(ref _count);

    public static int WriteKey(ReadOnlySpan<byte> query, in DnsQuery parsed, Span<byte> key)
    {
        var name = parsed.Question.Name(query);
        DnsName.ToLower(name, key);
        var position = name.Length;

        // QTYPE and QCLASS as they are on the wire.
        query.Slice(parsed.Question.NameOffset + name.Length, 4).CopyTo(key[position..]);
        position += 4;

        var flags = parsed.Header.Flags;
        byte bits = 0;
        if (parsed.Edns is { } edns)
        {
            bits |= EdnsBit;
            bits |= edns.DnssecOk ? DnssecOkBit : (byte)0;
        }

        bits |= (flags & DnsFlags.CheckingDisabled) != 0 ? CheckingDisabledBit : (byte)0;
        bits |= (flags & DnsFlags.RecursionDesired) != 0 ? RecursionDesiredBit : (byte)0;
        key[position++] = bits;
        return position;
    }

    public static byte[] CreateKey(ReadOnlySpan<byte> query, in DnsQuery parsed)
    {
        Span<byte> key = stackalloc byte[MaxKeyLength];
        return key[..WriteKey(query, parsed, key)].ToArray();
    }

    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out CacheEntry? entry, out uint ageSeconds)
    {
        ageSeconds = 0;
        if (!_lookup.TryGetValue(key, out entry))
        {
            return false;
        }

        var now = _time.GetTimestamp();
        if (now >= entry.ExpiresAt)
        {
            // Remove only this entry: a fresher answer may have replaced it meanwhile.
            if (_lookup.TryGetValue(key, out var actualKey, out var current)
                && ReferenceEquals(current, entry)
                && _entries.TryRemove(KeyValuePair.Create(actualKey, entry)))
            {
                Interlocked.Decrement(ref _count);
            }

            entry = null;
            return false;
        }

        ageSeconds = (uint)_time.GetElapsedTime(entry.StoredAt, now).TotalSeconds;
        return true;
    }

    /// <summary>Stores an upstream answer when RFC 2308 and its TTLs allow it; null when it is not cacheable.</summary>
    public CacheEntry? Store(byte[] key, byte[] message)
    {
        if (!CachePolicy.TryGetLifetime(message, out var ttl, out var offsets))
        {
            return null;
        }

        var now = _time.GetTimestamp();
        var entry = new CacheEntry(message, offsets, now, now + (ttl * _time.TimestampFrequency));
        if (Volatile.Read(ref _count) >= _capacity)
        {
            // Make room first, so the answer just fetched is never the one evicted.
            Trim(now);
        }

        if (_entries.TryAdd(key, entry))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _entries[key] = entry;
        }

        return entry;
    }

    /// <summary>Drops expired answers, then arbitrary ones until a quarter of the room is free again.</summary>
    private void Trim(long now)
    {
        if (!_sweep.TryEnter())
        {
            return;
        }

        try
        {
            foreach (var pair in _entries)
            {
                if (now >= pair.Value.ExpiresAt && _entries.TryRemove(pair))
                {
                    Interlocked.Decrement(ref _count);
                }
            }

            var target = _capacity * 3 / 4;
            foreach (var pair in _entries)
            {
                if (Volatile.Read(ref _count) <= target)
                {
                    break;
                }

                if (_entries.TryRemove(pair))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
        }
        finally
        {
            _sweep.Exit();
        }
    }
}
