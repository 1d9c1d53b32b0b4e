using Microsoft.Extensions.Time.Testing;
using Router.Dns.Cache;
using Router.Dns.Tests.Support;

namespace Router.Dns.Tests.Cache;

public class DnsCacheTests
{
    [Fact]
    public void TryGetLifetime_PositiveAnswer_IsMinimumAnswerTtl()
    {
        var answer = Answers.Build(0, [(1, 300), (1, 60)]);

        Assert.True(CachePolicy.TryGetLifetime(answer, out var ttl, out var offsets));

        Assert.Equal(60u, ttl);
        Assert.Equal(2, offsets.Length);
    }

    [Fact]
    public void TryGetLifetime_NxDomainWithSoa_IsLesserOfSoaTtlAndMinimum()
    {
        Assert.True(CachePolicy.TryGetLifetime(Answers.Build(3, [], soa: (900, 120)), out var ttl, out _));
        Assert.Equal(120u, ttl);

        Assert.True(CachePolicy.TryGetLifetime(Answers.Build(0, [], soa: (30, 120)), out ttl, out _));
        Assert.Equal(30u, ttl);
    }

    [Fact]
    public void TryGetLifetime_NegativeWithoutSoa_IsNotCached()
    {
        Assert.False(CachePolicy.TryGetLifetime(Answers.Build(3, []), out _, out _));
        Assert.False(CachePolicy.TryGetLifetime(Answers.Build(0, []), out _, out _));
    }

    [Fact]
    public void TryGetLifetime_TruncatedServFailOrZeroTtl_IsNotCached()
    {
        Assert.False(CachePolicy.TryGetLifetime(Answers.Build(0, [(1, 300)], truncated: true), out _, out _));
        Assert.False(CachePolicy.TryGetLifetime(Answers.Build(2, [(1, 300)]), out _, out _));
        Assert.False(CachePolicy.TryGetLifetime(Answers.Build(0, [(1, 0)]), out _, out _));
    }

    [Fact]
    public void TryGetLifetime_Garbage_IsNotCached()
    {
        var answer = Answers.Build(0, [(1, 300)]);
        for (var length = 0; length < answer.Length; length++)
        {
            Assert.False(CachePolicy.TryGetLifetime(answer.AsSpan(0, length), out _, out _));
        }
    }

    [Fact]
    public void TryGet_AfterTtl_Misses()
    {
        var time = new FakeTimeProvider();
        var cache = new DnsCache(100, time);
        byte[] key = [1, 2, 3];
        cache.Store(key, Answers.Build(0, [(1, 60)]));

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.True(cache.TryGet(key, out _, out var age));
        Assert.Equal(59u, age);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(key, out _, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Store_MoreThanCapacity_StaysBounded()
    {
        var cache = new DnsCache(100, new FakeTimeProvider());
        var answer = Answers.Build(0, [(1, 60)]);

        for (var i = 0; i < 1000; i++)
        {
            cache.Store(BitConverter.GetBytes(i), answer);
        }

        Assert.InRange(cache.Count, 1, 100);
        Assert.True(cache.TryGet(BitConverter.GetBytes(999), out _, out _));
    }
}
