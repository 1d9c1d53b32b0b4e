using dotnet_etcd;
using Etcdserverpb;
using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>Starts the real announcer executable and reads what it registered.</summary>
internal static class AnnouncerRun
{
    public static string Executable => RepoPaths.Executable("Announcer", "announcer");

    public static TestProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null) =>
        TestProcess.Start(Executable, args, environment, name: "announcer");

    /// <summary>The standard arguments for instance <paramref name="instance"/> of <c>web</c> under <paramref name="prefix"/>.</summary>
    public static List<string> Args(string etcdUrl, string prefix, string address, string instance = "1", params string[] more)
    {
        var args = new List<string>
        {
            "--etcd", etcdUrl,
            "--prefix", prefix,
            "--service", "web",
            "--instance", instance,
            "--address", address,
            "--interval", "0.2",
            "--drain", "0",
        };
        args.AddRange(more);
        return args;
    }

    /// <summary>The log event the announcer wrote under that name (the JSON lines carry <c>"Name":"…"</c>).</summary>
    public static string Event(string name) => $"\"Name\":\"{name}\"";

    /// <summary>The key's value and lease, or null when the key is absent.</summary>
    public static async Task<(string Value, long Lease)?> ReadAsync(EtcdClient client, string key)
    {
        var response = await client.GetAsync(key);
        return response.Kvs.Count == 0 ? null : (response.Kvs[0].Value.ToStringUtf8(), response.Kvs[0].Lease);
    }

    /// <summary>The remaining TTL of a lease in seconds; -1 when etcd no longer has it.</summary>
    public static async Task<long> TimeToLiveAsync(EtcdClient client, long lease) =>
        (await client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease })).TTL;

    /// <summary>Waits until <paramref name="key"/> holds <paramref name="value"/> bound to a live lease; returns the lease.</summary>
    public static async Task<long> WaitRegisteredAsync(EtcdClient client, string key, string value, TestProcess announcer, TimeSpan? timeout = null)
    {
        long lease = 0;
        await Wait.UntilAsync(async () =>
        {
            if (announcer.HasExited)
            {
                throw new InvalidOperationException($"the announcer exited with {announcer.ExitCode}:\n{announcer.Output}");
            }

            var kv = await ReadAsync(client, key);
            if (kv is not { } found || found.Value != value || found.Lease == 0)
            {
                return false;
            }

            lease = found.Lease;
            return await TimeToLiveAsync(client, lease) > 0;
        }, $"{key} = {value} with a live lease", timeout);
        return lease;
    }

    public static Task WaitGoneAsync(EtcdClient client, string key, TimeSpan? timeout = null) =>
        Wait.UntilAsync(async () => await ReadAsync(client, key) is null, $"{key} to be gone", timeout);
}
