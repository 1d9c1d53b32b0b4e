using System.Globalization;
using System.Text;
using Router.Registry;
using Router.Registry.Etcd;

namespace Router.Rollout;

/// <summary>
/// The rolling update itself, driven by the record so that a killed run can be continued: every step is
/// written before it is taken (a new instance is "starting" before the scheduler is asked, an old one
/// "withdrawn" before its sidekick stops), and each pass looks at the record and the scheduler again.
/// The rule throughout: never fewer usable instances (healthy new + serving old) than at the start, except the
/// one instance out at a time of the in-place mode when no extra instance can be placed.
/// </summary>
internal sealed class RolloutRunner(
    RolloutOptions options,
    IScheduler scheduler,
    EtcdConnection etcd,
    RouterView routers,
    RolloutStore store,
    EtcdLock held,
    RolloutProgress progress,
    TimeProvider time)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private readonly RegistryLayout _layout = new(options.Prefix);
    private readonly string _name = options.Service;

    /// <summary>Plans a new rollout to <paramref name="to"/> from what the scheduler runs now.</summary>
    public async Task<RolloutRecord> PlanAsync(string to, bool undo, CancellationToken cancellationToken)
    {
        var instances = await scheduler.ListAsync(_name, cancellationToken).ConfigureAwait(false);
        var old = instances.Where(i => i.Version != to).ToList();
        var from = old.GroupBy(i => i.Version).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault() ?? to;
        var record = new RolloutRecord
        {
            Service = _name,
            From = from,
            To = to,
            Undo = undo,
            Surge = options.Surge,
            Instances = instances.Count,
            Started = time.GetUtcNow(),
            Runner = Owner(),
            Steps = [.. instances.OrderBy(i => i.Number).Select(i => new InstanceStep
            {
                Number = i.Number,
                Version = i.Version,
                New = false,
                // An instance already at the target is kept as it is and counts as healthy.
                State = i.Version == to ? InstanceState.Healthy : InstanceState.Serving,
                Updated = time.GetUtcNow(),
            })],
        };
        await store.SaveAsync(held, record, time, cancellationToken).ConfigureAwait(false);
        progress.Rollout(_name, "planned", $"{old.Count} of {instances.Count} instance(s) from {from} to {to}, surge {options.Surge}");
        return record;
    }

    /// <summary>Runs <paramref name="record"/> to its end; throws <see cref="RolloutFailedException"/> after recording a failure.</summary>
    public async Task RunAsync(RolloutRecord record, CancellationToken cancellationToken)
    {
        record.Runner = Owner();
        if (record.State != RolloutState.Running)
        {
            record.State = RolloutState.Running;
            record.Reason = null;
        }

        await SaveAsync(record, cancellationToken).ConfigureAwait(false);
        await ReconcileAsync(record, cancellationToken).ConfigureAwait(false);

        while (true)
        {
            // A new instance a killed run left starting: wait for it as if just started.
            if (record.Steps.FirstOrDefault(s => s.New && s.State == InstanceState.Starting) is { } pending)
            {
                await ReadyOrFailAsync(record, pending, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // An old instance a killed run left half withdrawn: finish it.
            if (record.Steps.FirstOrDefault(s => !s.New && s.State == InstanceState.Withdrawn) is { } withdrawn)
            {
                await WithdrawAndStopAsync(record, withdrawn, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var serving = record.Steps.Where(s => !s.New && s.State == InstanceState.Serving).ToList();
            if (serving.Count == 0)
            {
                break;
            }

            var usable = Usable(record);
            if (usable > record.Instances)
            {
                await WithdrawAndStopAsync(record, serving[0], cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (options.Surge > 0 && await scheduler.CanPlaceAsync(_name, cancellationToken).ConfigureAwait(false))
            {
                var count = Math.Min(options.Surge, serving.Count);
                var started = new List<InstanceStep>();
                for (var i = 0; i < count && (i == 0 || await scheduler.CanPlaceAsync(_name, cancellationToken).ConfigureAwait(false)); i++)
                {
                    started.Add(await StartAsync(record, record.To, cancellationToken).ConfigureAwait(false));
                }

                foreach (var step in started)
                {
                    await ReadyOrFailAsync(record, step, cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            // No room for one more: one instance out at a time, replaced on the slot it frees.
            if (record.Mode != "in-place")
            {
                record.Mode = "in-place";
                progress.Rollout(_name, "in place", options.Surge == 0 ? "--surge 0" : "the scheduler cannot place another instance");
            }

            await WithdrawAndStopAsync(record, serving[0], cancellationToken).ConfigureAwait(false);
            var replacement = await StartAsync(record, record.To, cancellationToken).ConfigureAwait(false);
            await ReadyOrFailAsync(record, replacement, cancellationToken).ConfigureAwait(false);
        }

        record.State = RolloutState.Done;
        await SaveAsync(record, cancellationToken).ConfigureAwait(false);
        progress.Rollout(_name, "done", $"{record.Steps.Count(s => s.State == InstanceState.Healthy)} instance(s) at {record.To}");
    }

    private static int Usable(RolloutRecord record) =>
        record.Steps.Count(s => s.State is InstanceState.Healthy or InstanceState.Serving);

    /// <summary>Brings the record in line with the scheduler after a run was killed between a step and its record.</summary>
    private async Task ReconcileAsync(RolloutRecord record, CancellationToken cancellationToken)
    {
        var running = (await scheduler.ListAsync(_name, cancellationToken).ConfigureAwait(false)).ToDictionary(i => i.Number);
        foreach (var step in record.Steps)
        {
            if (step.State is InstanceState.Serving or InstanceState.Healthy && !running.ContainsKey(step.Number))
            {
                step.State = InstanceState.Stopped;
                step.Reason = "gone from the scheduler";
                progress.Instance(_name, step.Number, "gone", "the scheduler no longer has it");
            }
        }

        await SaveAsync(record, cancellationToken).ConfigureAwait(false);
    }

    private async Task<InstanceStep> StartAsync(RolloutRecord record, string version, CancellationToken cancellationToken)
    {
        var known = await scheduler.ListAsync(_name, cancellationToken).ConfigureAwait(false);
        var number = known.Select(i => i.Number).Concat(record.Steps.Select(s => s.Number)).DefaultIfEmpty(0).Max() + 1;
        var step = new InstanceStep { Number = number, Version = version, New = true, State = InstanceState.Starting, Updated = time.GetUtcNow() };
        record.Steps.Add(step);
        await SaveAsync(record, cancellationToken).ConfigureAwait(false);
        progress.Instance(_name, number, "starting", version);
        await scheduler.StartAsync(_name, number, version, cancellationToken).ConfigureAwait(false);
        return step;
    }

    private async Task ReadyOrFailAsync(RolloutRecord record, InstanceStep step, CancellationToken cancellationToken)
    {
        if ((await scheduler.ListAsync(_name, cancellationToken).ConfigureAwait(false)).All(i => i.Number != step.Number))
        {
            // Recorded as starting by a run killed before the scheduler had it.
            await scheduler.StartAsync(_name, step.Number, step.Version, cancellationToken).ConfigureAwait(false);
        }

        var why = await WaitReadyAsync(step, cancellationToken).ConfigureAwait(false);
        if (why is null)
        {
            step.State = InstanceState.Healthy;
            step.Updated = time.GetUtcNow();
            await SaveAsync(record, cancellationToken).ConfigureAwait(false);
            progress.Instance(_name, step.Number, "ready");
            return;
        }

        // Missed the deadline: it goes, the old ones keep serving, and the record says why.
        var reason = $"{_name}@{step.Number} ({step.Version}) not ready within {options.Deadline.TotalSeconds:0.#} s: {why}";
        progress.Instance(_name, step.Number, "deadline missed", why);
        await scheduler.RemoveAsync(_name, step.Number, cancellationToken).ConfigureAwait(false);
        step.State = InstanceState.Failed;
        step.Reason = why;
        step.Updated = time.GetUtcNow();
        progress.Instance(_name, step.Number, "stopped and removed");

        // In place, the failed instance took an old one's slot: put the old version back there.
        if (Usable(record) < record.Instances && step.Version != record.From)
        {
            var back = await StartAsync(record, record.From, cancellationToken).ConfigureAwait(false);
            if (await WaitReadyAsync(back, cancellationToken).ConfigureAwait(false) is { } backWhy)
            {
                back.State = InstanceState.Failed;
                back.Reason = backWhy;
                reason += $"; the old version {record.From} did not get ready on the freed slot either: {backWhy}";
            }
            else
            {
                back.State = InstanceState.Healthy;
                progress.Instance(_name, back.Number, "ready", $"old version {record.From} back on the freed slot");
            }
        }

        record.State = RolloutState.Failed;
        record.Reason = reason;
        await SaveAsync(record, cancellationToken).ConfigureAwait(false);
        progress.Rollout(_name, "failed", reason);
        throw new RolloutFailedException(reason);
    }

    /// <summary>
    /// Waits until the scheduler runs the instance, its host key is in etcd on a live lease, and every router has
    /// it up for --min-healthy without a break. Null when ready; else what was missing at the deadline.
    /// </summary>
    private async Task<string?> WaitReadyAsync(InstanceStep step, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + options.Deadline;
        var id = step.Number.ToString(CultureInfo.InvariantCulture);
        string? shown = null;
        DateTimeOffset? healthySince = null;
        var lastWhole = -1;
        string why = "the scheduler has not started it";
        while (time.GetUtcNow() < deadline)
        {
            why = await WhyNotUpAsync(step.Number, id, cancellationToken).ConfigureAwait(false) ?? "";
            if (why.Length == 0)
            {
                healthySince ??= time.GetUtcNow();
                var seconds = time.GetUtcNow() - healthySince.Value;
                if ((int)seconds.TotalSeconds != lastWhole)
                {
                    lastWhole = (int)seconds.TotalSeconds;
                    progress.Instance(_name, step.Number, $"healthy {lastWhole} s");
                }

                if (seconds >= options.MinHealthy)
                {
                    return null;
                }

                shown = null;
            }
            else
            {
                if (healthySince is not null)
                {
                    progress.Instance(_name, step.Number, "unhealthy again", why);
                }

                healthySince = null;
                lastWhole = -1;
                if (why != shown)
                {
                    progress.Instance(_name, step.Number, "waiting", why);
                    shown = why;
                }
            }

            await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
        }

        return healthySince is null ? why : $"healthy for less than {options.MinHealthy.TotalSeconds:0.#} s";
    }

    private async Task<string?> WhyNotUpAsync(int number, string id, CancellationToken cancellationToken)
    {
        var instance = (await scheduler.ListAsync(_name, cancellationToken).ConfigureAwait(false)).FirstOrDefault(i => i.Number == number);
        if (instance is null || !instance.Running)
        {
            return $"scheduler: {instance?.Detail ?? "not there"}";
        }

        var key = _layout.Host(_name, id);
        var kv = await etcd.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (kv is null)
        {
            return $"not registered ({key} absent)";
        }

        if (kv.LeaseId == 0)
        {
            return $"{key} has no lease (not put by an announcer)";
        }

        if (!await etcd.IsLeaseAliveAsync(kv.LeaseId, cancellationToken).ConfigureAwait(false))
        {
            return $"{key}'s lease has expired";
        }

        try
        {
            return await routers.WhyNotRoutedAsync(_name, id, Encoding.UTF8.GetString(kv.Value.Span), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // A router too busy to answer in time has not shown the instance up: keep waiting, within the deadline.
            return $"router admin did not answer: {e.Message}";
        }
    }

    /// <summary>
    /// Withdraws an old instance: its sidekick stops (the announcer deletes the host key and drains), the key
    /// is deleted here too (a dead sidekick's lease would keep it for a TTL), every router drops the host, the
    /// requests in flight get --drain, and only then the instance stops.
    /// </summary>
    private async Task WithdrawAndStopAsync(RolloutRecord record, InstanceStep step, CancellationToken cancellationToken)
    {
        var id = step.Number.ToString(CultureInfo.InvariantCulture);
        step.State = InstanceState.Withdrawn;
        step.Updated = time.GetUtcNow();
        await SaveAsync(record, cancellationToken).ConfigureAwait(false);
        progress.Instance(_name, step.Number, "withdrawing");
        await scheduler.WithdrawAsync(_name, step.Number, cancellationToken).ConfigureAwait(false);
        var key = _layout.Host(_name, id);
        await etcd.DeleteAsync(key, cancellationToken).ConfigureAwait(false);

        var until = time.GetUtcNow() + options.Deadline;
        while (!await GoneAsync(id, cancellationToken).ConfigureAwait(false))
        {
            if (time.GetUtcNow() > until)
            {
                throw new RolloutFailedException($"routers still list {_name}@{id} {options.Deadline.TotalSeconds:0} s after its host key was deleted");
            }

            await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
        }

        progress.Instance(_name, step.Number, "withdrawn", $"draining {options.Drain.TotalSeconds:0.#} s");
        await Task.Delay(options.Drain, time, cancellationToken).ConfigureAwait(false);
        await scheduler.RemoveAsync(_name, step.Number, cancellationToken).ConfigureAwait(false);
        step.State = InstanceState.Stopped;
        step.Updated = time.GetUtcNow();
        await SaveAsync(record, cancellationToken).ConfigureAwait(false);
        progress.Instance(_name, step.Number, "stopped");
    }

    private async Task<bool> GoneAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            return await routers.GoneAsync(_name, id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private Task SaveAsync(RolloutRecord record, CancellationToken cancellationToken) =>
        store.SaveAsync(held, record, time, cancellationToken);

    public static string Owner() =>
        $"host {Environment.MachineName} pid {Environment.ProcessId} started {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}";
}
