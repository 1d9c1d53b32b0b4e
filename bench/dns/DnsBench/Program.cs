using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Router.Dns;
using Router.Registry.Model;

// The DNS responder alone, with an empty registry, for bench/dns/run.sh:
//   dnsbench LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT [ZONE] [ANSWER_IP]
if (args.Length < 2)
{
    await Console.Error.WriteLineAsync("usage: dnsbench LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT [ZONE] [ANSWER_IP]");
    return 2;
}

var options = new DnsOptions
{
    Listen = IPEndPoint.Parse(args[0]),
    Upstreams = [IPEndPoint.Parse(args[1])],
    Zone = args.Length > 2 ? args[2] : "local",
    Answer = args.Length > 3 ? IPAddress.Parse(args[3]) : null,
};

using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Information));
await using var responder = new DnsResponder(options, () => RegistrySnapshot.Empty, TimeProvider.System, loggers.CreateLogger<DnsResponder>());
var stopped = new TaskCompletionSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
await responder.StartAsync(CancellationToken.None);
await stopped.Task;
await responder.StopAsync(CancellationToken.None);
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stopped.TrySetResult();
}
