using BenchTool;

// benchtool COMMAND [--option value]... [-- command line]
// Prints its figures as "RESULT name=value" lines for bench/*.sh to collect.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: benchtool load|route-live|host-changes|startup [--option value]... [-- command]");
    return 2;
}

var options = Arguments.Parse(args.AsSpan(1));
try
{
    return args[0] switch
    {
        "load" => await LoadCommand.RunAsync(options),
        "route-live" => await RouteLiveCommand.RunAsync(options),
        "host-changes" => await HostChangesCommand.RunAsync(options),
        "startup" => await StartupCommand.RunAsync(options),
        _ => Usage(args[0]),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"benchtool: {e.Message}");
    return 2;
}

static int Usage(string command)
{
    Console.Error.WriteLine($"benchtool: unknown command {command}");
    return 2;
}
