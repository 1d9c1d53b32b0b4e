using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Router.Testing;

namespace Router.Announcer.Tests;

/// <summary>
/// A tiny real backend on 127.0.0.1: <c>/health</c> answers 200 or 500 as <see cref="Healthy"/> says, every other
/// path answers 200 with the backend's name.
/// </summary>
internal sealed class HealthBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile bool _healthy = true;

    private HealthBackend(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public string HealthUrl => $"http://127.0.0.1:{Port}/health";

    public bool Healthy
    {
        get => _healthy;
        set => _healthy = value;
    }

    public static async Task<HealthBackend> StartAsync(bool healthy = true)
    {
        var port = Ports.FreeTcp();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var backend = new HealthBackend(app, port) { Healthy = healthy };
        app.Run(async context =>
        {
            if (context.Request.Path == "/health")
            {
                context.Response.StatusCode = backend.Healthy ? 200 : 500;
                return;
            }

            await context.Response.WriteAsync("backend " + port);
        });
        await app.StartAsync();
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
