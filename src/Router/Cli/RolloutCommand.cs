using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Registry.Etcd;
using Router.Rollout;
using Router.Rollout.Fleet;
using Router.Rollout.Processes;

namespace Router.Cli;

/// <summary><c>router rollout …</c>: parse, take the lock, plan or load the record, run, report.</summary>
internal static class RolloutCommand
{
    public const int Done = 0;
    public const int Failed = 1;
    public const int BadOptions = 2;
    public const int Refused = 3;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment, TextWriter output, TextWriter error, bool terminal)
    {
        var parsed = RolloutCommandLine.Parse(args, environment);
        if (parsed.Help)
        {
            await output.WriteAsync(RolloutCommandLine.Usage).ConfigureAwait(false);
            return Done;
        }

        if (parsed.Options is not { } options)
        {
            foreach (var problem in parsed.Errors)
            {
                await error.WriteLineAsync($"router rollout: {problem}").ConfigureAwait(false);
            }

            return BadOptions;
        }

        var time = TimeProvider.System;
        var progress = new RolloutProgress(output, options.Json || !terminal, time);
        using var cancel = new CancellationTokenSource();
        using var etcd = new EtcdConnection(options.Etcd, NullLogger<EtcdConnection>.Instance);
        var store = new RolloutStore(etcd, options.RolloutPrefix, options.Service);
        try
        {
            if (options.Action == RolloutAction.Status)
            {
                return await StatusAsync(options, store, etcd, output, cancel.Token).ConfigureAwait(false);
            }

            IScheduler scheduler = options.Processes is { } folder
                ? new ProcessScheduler(folder)
                : new FleetScheduler(new FleetClient(options.Fleet ?? "unix:/var/run/fleet.sock"));

            var owner = RolloutRunner.Owner();
            var attempt = await EtcdLock.TryAcquireAsync(etcd, store.LockKey, owner, options.LockTtlSeconds, cancel.Token).ConfigureAwait(false);
            if (attempt.Lock is not { } held)
            {
                await error.WriteLineAsync($"router rollout: {options.Service} is locked by another rollout ({attempt.Holder}); lock {store.LockKey} — it frees itself {options.LockTtlSeconds} s after its holder dies").ConfigureAwait(false);
                return Refused;
            }

            await using (held.ConfigureAwait(false))
            {
                using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token, held.Lost);
                using var routers = new RouterView(options.RouterAdmins);
                var runner = new RolloutRunner(options, scheduler, etcd, routers, store, held, progress, time);
                var record = await store.ReadAsync(lost.Token).ConfigureAwait(false);
                switch (options.Action)
                {
                    case RolloutAction.Start:
                        if (record is { State: RolloutState.Running })
                        {
                            await error.WriteLineAsync($"router rollout: the rollout of {options.Service} to {record.To} did not finish (killed?); continue it with --resume or go back with --undo").ConfigureAwait(false);
                            return Refused;
                        }

                        record = await runner.PlanAsync(options.To!, undo: false, lost.Token).ConfigureAwait(false);
                        break;
                    case RolloutAction.Resume:
                        if (record is null || record.State == RolloutState.Done)
                        {
                            await error.WriteLineAsync($"router rollout: --resume: no unfinished rollout of {options.Service} is recorded").ConfigureAwait(false);
                            return Failed;
                        }

                        progress.Rollout(options.Service, "resuming", $"{record.From} to {record.To}");
                        break;
                    default:
                        if (record is null)
                        {
                            await error.WriteLineAsync($"router rollout: --undo: no rollout of {options.Service} is recorded").ConfigureAwait(false);
                            return Failed;
                        }

                        record = await runner.PlanAsync(record.From, undo: true, lost.Token).ConfigureAwait(false);
                        break;
                }

                try
                {
                    await runner.RunAsync(record, lost.Token).ConfigureAwait(false);
                    return Done;
                }
                catch (RolloutFailedException e)
                {
                    if (record.State != RolloutState.Failed)
                    {
                        record.State = RolloutState.Failed;
                        record.Reason = e.Message;
                        await store.SaveAsync(held, record, time, CancellationToken.None).ConfigureAwait(false);
                        progress.Rollout(options.Service, "failed", e.Message);
                    }

                    await error.WriteLineAsync($"router rollout: {options.Service}: failed: {e.Message} (old instances keep serving; --undo goes back to {record.From})").ConfigureAwait(false);
                    return Failed;
                }
            }
        }
        catch (LockLostException e)
        {
            await error.WriteLineAsync($"router rollout: {e.Message}").ConfigureAwait(false);
            return Failed;
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled } && !cancel.IsCancellationRequested)
        {
            await error.WriteLineAsync("router rollout: the lock's lease was lost (etcd unreachable for a whole --lock-ttl); stopped, --resume continues").ConfigureAwait(false);
            return Failed;
        }
        catch (Exception e) when (e is RpcException or HttpRequestException or IOException or InvalidOperationException or InvalidDataException or FleetException)
        {
            await error.WriteLineAsync($"router rollout: {options.Service}: {e.Message} (the record says where it stands: --status; --resume continues)").ConfigureAwait(false);
            return Failed;
        }
    }

    private static async Task<int> StatusAsync(RolloutOptions options, RolloutStore store, EtcdConnection etcd, TextWriter output, CancellationToken cancellationToken)
    {
        var record = await store.ReadAsync(cancellationToken).ConfigureAwait(false);
        var holder = await EtcdLock.HolderAsync(etcd, store.LockKey, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            await output.WriteLineAsync($"{options.Service}: no rollout recorded").ConfigureAwait(false);
            return Done;
        }

        if (options.Json)
        {
            await output.WriteLineAsync(record.Serialize()).ConfigureAwait(false);
            return Done;
        }

        await output.WriteLineAsync($"{record.Service}: {(record.Undo ? "undo " : "")}rollout {record.From} -> {record.To}: {record.State.ToString().ToLowerInvariant()}{(record.Reason is null ? "" : " (" + record.Reason + ")")}").ConfigureAwait(false);
        await output.WriteLineAsync($"  mode {record.Mode}, surge {record.Surge}, {record.Instances} instance(s) at the start, started {record.Started:u}, updated {record.Updated:u}").ConfigureAwait(false);
        await output.WriteLineAsync($"  lock: {holder ?? "free"}").ConfigureAwait(false);
        foreach (var step in record.Steps)
        {
            await output.WriteLineAsync($"  {record.Service}@{step.Number,-4} {(step.New ? "new" : "old"),-3} {step.Version,-16} {step.State.ToString().ToLowerInvariant()}{(step.Reason is null ? "" : " (" + step.Reason + ")")}").ConfigureAwait(false);
        }

        return Done;
    }
}
