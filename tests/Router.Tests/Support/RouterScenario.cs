using System.Net;
using System.Net.Sockets;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// Base of the end-to-end tests that share the collection's etcd: a prefix of their own, the real router
/// process on it (<see cref="Proxy"/>), and everything a test starts disposed after it, newest first.
/// </summary>
public abstract class RouterScenario(SharedEtcdFixture fixture, params string[] routerArgs) : IClassFixture<SharedEtcdFixture>, IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    protected EtcdProcess Etcd { get; } = fixture.Etcd;

    protected string Prefix { get; } = EtcdFixture.NewPrefix();

    /// <summary>The router under test.</summary>
    protected RouterProcess Proxy { get; private set; } = null!;

    public async Task InitializeAsync() => Proxy = Own(await StartProxyAsync());

    /// <summary>The router everything is disposed after; a class disposing more (files, a CA) overrides and calls this first.</summary>
    public virtual async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }

    /// <summary>
    /// Starts the router under test with the class's arguments. A class whose router needs certificate files,
    /// registry keys or backends first, or arguments made from its own fields, overrides this.
    /// </summary>
    protected virtual Task<RouterProcess> StartProxyAsync() => RouterProcess.StartAsync(Etcd.Url, Prefix, routerArgs);

    /// <summary>Disposes <paramref name="value"/> when the test ends.</summary>
    protected T Own<T>(T value)
        where T : IAsyncDisposable
    {
        _owned.Add(value);
        return value;
    }

    protected async Task<T> Own<T>(Task<T> start)
        where T : IAsyncDisposable => Own(await start);

    /// <summary>Starts a scripted raw backend as the only host of <paramref name="service"/> and waits until it is routed.</summary>
    private protected async Task<RawHttpBackend> StartAsync(string service, Func<RawExchange, Task> handler, TimeSpan? idleClose = null)
    {
        var backend = Own(RawHttpBackend.Start(handler, idleClose));
        await Etcd.PutAsync($"{Prefix}/{service}/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/{service}/hosts/1", backend.Address);
        await Wait.UntilAsync(async () =>
        {
            var status = await Proxy.StatusAsync();
            return status.GetProperty("services").EnumerateArray().Any(s => s.GetProperty("name").GetString() == service && s.GetProperty("hosts").GetArrayLength() == 1);
        }, $"{service} to be routed");
        return backend;
    }

    /// <summary>Waits until /status lists <paramref name="service"/> with <paramref name="count"/> hosts.</summary>
    protected Task WaitHostsAsync(string service, int count) =>
        Wait.UntilAsync(async () => (await Proxy.StatusAsync()).GetProperty("services").EnumerateArray()
            .Any(s => s.GetProperty("name").GetString() == service && s.GetProperty("hosts").GetArrayLength() == count), $"{service} to have {count} hosts");

    /// <summary>A connection to a TCP host_port whose backend's name line is <paramref name="expectedBackend"/>.</summary>
    protected static async Task<TcpTestClient> ConnectedAsync(int port, string expectedBackend)
    {
        var client = await TcpTestClient.ConnectAsync(port);
        Assert.Equal(expectedBackend, await client.ReadLineAsync());
        return client;
    }

    protected static Task WaitListeningAsync(int port) =>
        Wait.UntilAsync(async () =>
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await probe.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }, $"port {port} to listen");

    protected static Task WaitNotListeningAsync(int port) =>
        Wait.UntilAsync(async () =>
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return false;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return true;
            }
        }, $"port {port} to stop listening");
}
