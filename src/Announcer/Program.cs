using Microsoft.Extensions.Hosting;
using Router.Announcer.Hosting;
using Router.Announcer.Options;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

var parsed = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
if (parsed.ShowHelp)
{
    Console.Out.WriteLine(CommandLine.Usage);
    return 0;
}

if (parsed.Options is not { } options)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine(error);
    }

    return 2;
}

Log.Logger = ConfigureLogging(new LoggerConfiguration()).CreateBootstrapLogger();
try
{
    var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
    builder.Services.AddSerilog(configuration => ConfigureLogging(configuration));
    builder.Services.AddAnnouncer(options);
    using var host = builder.Build();
    await host.RunAsync().ConfigureAwait(false);
    return Environment.ExitCode;
}
catch (Exception e)
{
    Log.Fatal(e, "announcer stopped unexpectedly");
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync().ConfigureAwait(false);
}

// JSON lines for journald and log shippers; plain text for a person at a terminal.
static LoggerConfiguration ConfigureLogging(LoggerConfiguration configuration)
{
    configuration
        .MinimumLevel.Information()
        .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
        .MinimumLevel.Override("Grpc", LogEventLevel.Warning)
        .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
        .Enrich.FromLogContext();
    return Console.IsOutputRedirected
        ? configuration.WriteTo.Console(new CompactJsonFormatter())
        : configuration.WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}");
}
