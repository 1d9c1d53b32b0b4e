using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Router.Rollout.Processes;

/// <summary>
/// Instances as process pairs on this machine (development, the end-to-end tests, the network namespaces of the
/// cluster in a box): the folder holds <c>unit.json</c> (<see cref="ProcessUnit"/>), one
/// <c>instances/NAME@N.json</c> per instance and their logs under <c>logs/</c>.
/// </summary>
internal sealed class ProcessScheduler(string folder) : IScheduler
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);
    private readonly ProcessUnit _unit = ProcessUnit.Load(folder);

    public Task<IReadOnlyList<SchedulerInstance>> ListAsync(string service, CancellationToken cancellationToken)
    {
        IReadOnlyList<SchedulerInstance> list = [.. Instances(service).OrderBy(i => i.Number)
            .Select(i => new SchedulerInstance(i.Number, i.Version, Runs(i), Describe(i)))];
        return Task.FromResult(list);
    }

    public Task<bool> CanPlaceAsync(string service, CancellationToken cancellationToken) =>
        Task.FromResult(_unit.Slots <= 0 || Instances(service).Count() < _unit.Slots);

    public async Task StartAsync(string service, int number, string version, CancellationToken cancellationToken)
    {
        if (Read(service, number) is { } existing)
        {
            if (Runs(existing))
            {
                // Started by a run that was killed before it wrote its record: nothing to do.
                return;
            }

            // Half started by a killed run (or one process died): clear it and start again.
            await RemoveAsync(service, number, cancellationToken).ConfigureAwait(false);
        }

        Directory.CreateDirectory(Path.Combine(folder, "instances"));
        Directory.CreateDirectory(Path.Combine(folder, "logs"));
        var port = FreePort();
        var instance = new ProcessInstance(number, version, port, null, null);
        Write(service, instance);
        var environment = (_unit.Environment ?? new Dictionary<string, string>()).ToDictionary(e => e.Key, e => ProcessUnit.Expand(e.Value, service, number, port, version));
        instance = instance with
        {
            Service = LocalProcess.Start(
                [.. _unit.Service.Select(a => ProcessUnit.Expand(a, service, number, port, version))], environment, Log($"{service}@{number}"), PidFile(service, number, "service")),
        };
        Write(service, instance);
        instance = instance with
        {
            Presence = LocalProcess.Start(
                [.. _unit.Presence.Select(a => ProcessUnit.Expand(a, service, number, port, version))], environment, Log($"{service}-presence@{number}"), PidFile(service, number, "presence")),
        };
        Write(service, instance);
    }

    public async Task WithdrawAsync(string service, int number, CancellationToken cancellationToken)
    {
        if (Read(service, number) is { } instance
            && (instance.Presence ?? LocalProcess.FromPidFile(PidFile(service, number, "presence"))) is { } presence)
        {
            await presence.StopAsync(StopGrace, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task RemoveAsync(string service, int number, CancellationToken cancellationToken)
    {
        if (Read(service, number) is not { } instance)
        {
            return;
        }

        // The sidekick first: its host key goes before the service stops answering. A process whose pid the
        // record lacks (the run was killed while starting it) is found by its pid file.
        foreach (var (process, role) in new[] { (instance.Presence, "presence"), (instance.Service, "service") })
        {
            if ((process ?? LocalProcess.FromPidFile(PidFile(service, number, role))) is { } running)
            {
                await running.StopAsync(StopGrace, cancellationToken).ConfigureAwait(false);
            }

            File.Delete(PidFile(service, number, role));
        }

        File.Delete(StatePath(service, number));
    }

    private static bool Runs(ProcessInstance i) => i.Service is { IsAlive: true } && i.Presence is { IsAlive: true };

    private static string Describe(ProcessInstance i) =>
        $"service {State(i.Service)}, presence {State(i.Presence)}, port {i.Port}";

    private static string State(LocalProcess? process) =>
        process is null ? "starting" : $"{(process.IsAlive ? "running" : "exited")} (pid {process.Pid})";

    private IEnumerable<ProcessInstance> Instances(string service)
    {
        var dir = Path.Combine(folder, "instances");
        if (!Directory.Exists(dir))
        {
            yield break;
        }

        foreach (var file in Directory.EnumerateFiles(dir, $"{service}@*.json"))
        {
            var text = Path.GetFileNameWithoutExtension(file)[(service.Length + 1)..];
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && Read(service, number) is { } instance)
            {
                yield return instance;
            }
        }
    }

    private ProcessInstance? Read(string service, int number)
    {
        var path = StatePath(service, number);
        return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), ProcessJson.Default.ProcessInstance) : null;
    }

    /// <summary>Written aside and moved in place, so a reader never sees half a file.</summary>
    private void Write(string service, ProcessInstance instance)
    {
        var path = StatePath(service, instance.Number);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(instance, ProcessJson.Default.ProcessInstance));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private string PidFile(string service, int number, string role) => Path.Combine(folder, "instances", $"{service}@{number}.{role}.pid");

    private string StatePath(string service, int number) => Path.Combine(folder, "instances", $"{service}@{number}.json");

    private string Log(string unit) => Path.Combine(folder, "logs", unit + ".log");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
