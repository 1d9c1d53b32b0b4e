using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Router.Testing;

/// <summary>
/// A real HTTP backend on 127.0.0.1: answers every request with a JSON echo of what it received (its name,
/// method, path, query, Host and X-Forwarded-* headers). <c>/slow?ms=N</c> answers after N ms; <c>/health</c>
/// answers <see cref="HealthStatus"/>.
/// </summary>
public sealed class TestBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _paths = new(StringComparer.Ordinal);
    private int _requests;

    private TestBackend(string name, WebApplication app, int port)
    {
        Name = name;
        _app = app;
        Port = port;
    }

    public string Name { get; }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>
    /// Whether a request for <paramref name="path"/> (without the query) has arrived: the explicit marker a test
    /// waits on, where a count of requests would also count the router's own probes and readiness checks.
    /// </summary>
    public bool Seen(string path) => _paths.ContainsKey(path);

    /// <summary>What <c>/health</c> answers; tests flip it to fail a health check.</summary>
    public int HealthStatus { get; set; } = 200;

    public static async Task<TestBackend> StartAsync(string name, int? port = null)
    {
        var chosen = port ?? Ports.FreeTcp();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, chosen));
        var app = builder.Build();
        var backend = new TestBackend(name, app, chosen);
        app.UseWebSockets();
        app.Run(backend.HandleAsync);
        await app.StartAsync();
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var request = context.Request;
        _paths.AddOrUpdate(request.Path.Value ?? "", 1, (_, seen) => seen + 1);
        if (request.Path == "/health")
        {
            context.Response.StatusCode = HealthStatus;
            await context.Response.WriteAsync(HealthStatus == 200 ? "healthy" : "unhealthy");
            return;
        }

        if (context.WebSockets.IsWebSocketRequest)
        {
            await EchoWebSocketAsync(context);
            return;
        }

        if (request.Path.Value?.EndsWith("/slow", StringComparison.Ordinal) == true && int.TryParse(request.Query["ms"], out var ms))
        {
            await Task.Delay(ms, context.RequestAborted);
        }

        string body;
        using (var reader = new StreamReader(request.Body))
        {
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        var echo = new BackendEcho(
            Name,
            request.Method,
            request.Path.Value ?? "",
            request.QueryString.Value ?? "",
            request.Headers.Host.ToString(),
            request.Headers["X-Forwarded-For"].ToString(),
            request.Headers["X-Forwarded-Proto"].ToString(),
            request.Headers["X-Forwarded-Host"].ToString(),
            body);
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, echo, BackendEcho.Json, context.RequestAborted);
    }

    /// <summary>A WebSocket that answers each text message with "{name}: {message}".</summary>
    private async Task EchoWebSocketAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (received.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }

                var reply = System.Text.Encoding.UTF8.GetBytes($"{Name}: {System.Text.Encoding.UTF8.GetString(buffer, 0, received.Count)}");
                await socket.SendAsync(reply, System.Net.WebSockets.WebSocketMessageType.Text, endOfMessage: true, context.RequestAborted);
            }
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException)
        {
        }
    }
}
