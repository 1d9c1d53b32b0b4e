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
        IReadOnlyList<SchedulerInstance> list = [.. Instances(service)
            .Select(i => new SchedulerInstance(i.Number, i.Version, i.Service.IsAlive && i.Presence.IsAlive, Describe(i)))];
        return Task.FromResult(list);
    }

    public Task<bool> CanPlaceAsync(string service, CancellationToken cancellationToken) =>
        Task.FromResult(_unit.Slots <= 0 || Instances(service).Count() < _unit.Slots);

    public Task StartAsync(string service, int number, string version, CancellationToken cancellationToken)
    {
        if (Read(service, number) is { } existing)
        {
            if (existing.Service.IsAlive && existing.Presence.IsAlive)
            {
                // Started by a run that was killed before it wrote its record: nothing to do.
                return Task.CompletedTask;
            }

            throw new InvalidOperationException($"{service}@{number} exists but does not run; remove it first");
        }

        Directory.CreateDirectory(Path.Combine(folder, "instances"));
        Directory.CreateDirectory(Path.Combine(folder, "logs"));
        var port = FreePort();
        var environment = _unit.Environment.ToDictionary(e => e.Key, e => ProcessUnit.Expand(e.Value, service, number, port, version));
        var serviceProcess = LocalProcess.Start(
            [.. _unit.Service.Select(a => ProcessUnit.Expand(a, service, number, port, version))], environment, Log($"{service}@{number}"));
        LocalProcess presence;
        try
        {
            presence = LocalProcess.Start(
                [.. _unit.Presence.Select(a => ProcessUnit.Expand(a, service, number, port, version))], environment, Log($"{service}-presence@{number}"));
        }
        catch (InvalidOperationException)
        {
            _ = serviceProcess.StopAsync(StopGrace, CancellationToken.None);
            throw;
        }

        File.WriteAllText(StatePath(service, number), JsonSerializer.Serialize(new ProcessInstance(number, version, port, serviceProcess, presence), RolloutRecord.Json));
        return Task.CompletedTask;
    }

    public async Task WithdrawAsync(string service, int number, CancellationToken cancellationToken)
    {
        if (Read(service, number) is { } instance)
        {
            await instance.Presence.StopAsync(StopGrace, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task RemoveAsync(string service, int number, CancellationToken cancellationToken)
    {
        if (Read(service, number) is not { } instance)
        {
            return;
        }

        // The sidekick first: its host key goes before the service stops answering.
        await instance.Presence.StopAsync(StopGrace, cancellationToken).ConfigureAwait(false);
        await instance.Service.StopAsync(StopGrace, cancellationToken).ConfigureAwait(false);
        File.Delete(StatePath(service, number));
    }

    private static string Describe(ProcessInstance i) =>
        $"{(i.Service.IsAlive ? "running" : "exited")} (pid {i.Service.Pid}), presence {(i.Presence.IsAlive ? "running" : "exited")} (pid {i.Presence.Pid}), port {i.Port}";

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
        return File.Exists(path) ? JsonSerializer.Deserialize<ProcessInstance>(File.ReadAllText(path), RolloutRecord.Json) : null;
    }

    private string StatePath(string service, int number) => Path.Combine(folder, "instances", $"{service}@{number}.json");

    private string Log(string unit) => Path.Combine(folder, "logs", unit + ".log");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
