using System.Collections;
using Microsoft.Extensions.Configuration;
using Router.Hosting;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

// Socket completions run on the I/O thread instead of hopping to the thread pool: a proxy never blocks
// in them, and the hop cost a quarter of its CPU (bench/, docs/benchmarks.md). Read when the first socket
// is made, so it must be set first; an operator's own value wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
    .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
var settings = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: true)
    .Build();

// `router rollout NAME …`: the rolling-update tool, a subcommand with options of its own.
if (args is ["rollout", .. var rolloutArgs])
{
    return await Router.Cli.RolloutCommand.RunAsync(rolloutArgs, environment, Console.Out, Console.Error, terminal: !Console.IsOutputRedirected);
}

// `router check …`: one read of the registry, its problems and the host_port plan, for operators and scripts.
if (args is ["check", .. var checkArgs])
{
    return await Router.Cli.CheckCommand.RunAsync(checkArgs, environment, settings, Console.Out, Console.Error, CancellationToken.None);
}

// `router status …`: a running router's /status for a terminal.
if (args is ["status", .. var statusArgs])
{
    return await Router.Cli.StatusCommand.RunAsync(statusArgs, environment, Console.Out, Console.Error, CancellationToken.None);
}

var parsed = RouterCommandLine.Parse(args, environment, settings);
if (parsed.Help)
{
    Console.Out.Write(RouterCommandLine.Usage);
    return 0;
}

if (parsed.Options is not { } options)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"router: {error}");
    }

    return 2;
}

// Structured JSON for log collectors; readable lines for a person at a terminal.
// --log-level sets the floor; the quieter levels of noisy libraries below never make them louder than it.
LogEventLevel AtLeast(LogEventLevel level) => level > options.LogLevel ? level : options.LogLevel;
var logging = new LoggerConfiguration()
    .MinimumLevel.Is(options.LogLevel)
    .MinimumLevel.Override("Microsoft", AtLeast(LogEventLevel.Warning))
    .MinimumLevel.Override("Microsoft.Hosting.Lifetime", AtLeast(LogEventLevel.Information))
    // Off, not just quiet: while this category is enabled at any level, ASP.NET Core opens a log scope per
    // request (an AsyncLocal write every request pays for), and it logs nothing the router wants.
    .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", LevelAlias.Off)
    // Kestrel writes a warning for every connection refused over --max-http-connections: a flood would flood
    // the log too. The limit in force is logged once at start.
    .MinimumLevel.Override("Microsoft.AspNetCore.Server.Kestrel.Connections", AtLeast(LogEventLevel.Error))
    .MinimumLevel.Override("Grpc", AtLeast(LogEventLevel.Warning))
    .MinimumLevel.Override("Yarp", AtLeast(LogEventLevel.Warning))
    .Enrich.FromLogContext();
Log.Logger = Console.IsOutputRedirected
    ? logging.WriteTo.Console(new CompactJsonFormatter()).CreateLogger()
    : logging.WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}").CreateLogger();

try
{
    var app = RouterHost.Build(options);
    Log.Information("Router starting: http {Http}, admin {Admin}, etcd {Etcd} prefix {Prefix}, dns {Dns}",
        options.Http, options.Admin, string.Join(",", options.Etcd.Endpoints), options.Prefix, options.Dns?.ToString() ?? "off");
    await app.RunAsync();
    Log.Information("Router stopped");
    return 0;
}
catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
{
    // Typically a port that cannot be bound: say which, plainly.
    Log.Fatal(e, "Router failed to start: {Reason}", e.Message);
    return 1;
}
catch (Exception e)
{
    Log.Fatal(e, "Router stopped unexpectedly");
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
