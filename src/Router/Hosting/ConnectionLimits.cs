using Microsoft.Extensions.Logging;

namespace Router.Hosting;

/// <summary>
/// The connection limits in force: the configured ones, lowered where the open-file limit cannot carry them.
/// Lowered rather than refused: a router that will not start takes every service on the node down with it,
/// while a lower limit costs only the connections beyond it; the warning says what to raise.
/// </summary>
/// <param name="TcpPerPort">Open TCP relays per host_port.</param>
/// <param name="TcpTotal">Open TCP relays on all host_ports together; null without an open-file limit.</param>
/// <param name="HttpPerPort">Open HTTP connections per listening port; null: no limit.</param>
internal sealed partial record ConnectionLimits(int TcpPerPort, int? TcpTotal, int? HttpPerPort)
{
    public static ConnectionLimits From(RouterOptions options, FileDescriptorBudget budget, ILogger logger)
    {
        var tcp = options.TcpMaxConnections;
        if (budget.TcpRelays is { } relays && tcp > relays)
        {
            Log.TcpLowered(logger, tcp, (2L * tcp) + FileDescriptorBudget.Reserved, budget.OpenFiles!.Value, FileDescriptorBudget.Reserved, relays);
            tcp = relays;
        }

        var http = options.MaxHttpConnections ?? budget.HttpConnections;
        if (options.MaxHttpConnections is { } configured && budget.HttpConnections is { } affordable && configured > affordable)
        {
            Log.HttpLowered(logger, configured, budget.OpenFiles!.Value, FileDescriptorBudget.Reserved, affordable);
            http = affordable;
        }

        var limits = new ConnectionLimits(tcp, budget.TcpRelays, http);
        Log.InForce(logger, budget.OpenFiles?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited", tcp, limits.TcpTotal?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited", http?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited");
        return limits;
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.LimitsTcpLowered, LogLevel.Warning, "--tcp-max-connections {Configured} needs {Needed} open files (2 per relay, {Reserved} kept for the router), more than the limit of {OpenFiles} can spare for TCP: lowered to {Effective}; raise LimitNOFILE (ulimit -n) to keep it")]
        public static partial void TcpLowered(ILogger logger, int configured, long needed, long openFiles, int reserved, int effective);

        [LoggerMessage(EventIds.LimitsHttpLowered, LogLevel.Warning, "--max-http-connections {Configured} is more than the open-file limit of {OpenFiles} can carry ({Reserved} kept for the router, half the rest for TCP relays, 2 per connection): lowered to {Effective}; raise LimitNOFILE (ulimit -n) to keep it")]
        public static partial void HttpLowered(ILogger logger, int configured, long openFiles, int reserved, int effective);

        [LoggerMessage(EventIds.LimitsInForce, LogLevel.Information, "Open-file limit {OpenFiles}: TCP relays {TcpPerPort} per host_port and {TcpTotal} in all, HTTP connections {HttpPerPort} per port")]
        public static partial void InForce(ILogger logger, string openFiles, int tcpPerPort, string tcpTotal, string httpPerPort);
    }
}
