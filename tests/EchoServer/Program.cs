using System.Globalization;
using Router.Testing;

// echo-server NAME PORT: the TestBackend echo on 127.0.0.1:PORT until SIGTERM or SIGINT.
if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
{
    await Console.Error.WriteLineAsync("usage: echo-server NAME PORT");
    return 2;
}

await using var backend = await TestBackend.StartAsync(args[0], port);
await Console.Out.WriteLineAsync($"listening on {backend.Address}");
var stop = new TaskCompletionSource();
using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
await stop.Task;
return 0;
