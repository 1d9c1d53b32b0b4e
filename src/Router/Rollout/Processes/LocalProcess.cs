using System.Diagnostics;
using System.Globalization;

namespace Router.Rollout.Processes;

/// <summary>
/// A process by id and start time (<c>/proc/PID/stat</c> field 22), so a recycled pid is never taken for it.
/// Started through <c>sh -c 'exec …'</c> with its output in a log file: it outlives the tool, and holds none of
/// the tool's pipes.
/// </summary>
internal sealed record LocalProcess(int Pid, long StartTicks)
{
    /// <summary>
    /// Starts <paramref name="command"/>; its pid is written to <paramref name="pidFile"/> before it runs, so a
    /// tool killed between the start and its own record leaves a process that the next run can still find.
    /// </summary>
    public static LocalProcess Start(IReadOnlyList<string> command, IReadOnlyDictionary<string, string> environment, string log, string pidFile)
    {
        // A session of its own: an instance must outlive the terminal the tool ran in (its hangup would reach
        // every process of the terminal's session).
        var info = new ProcessStartInfo("setsid") { UseShellExecute = false };
        info.ArgumentList.Add("/bin/sh");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("echo $$ >\"$ROLLOUT_PID\"; exec \"$@\" </dev/null >>\"$ROLLOUT_LOG\" 2>&1");
        info.ArgumentList.Add("sh");
        foreach (var argument in command)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        info.Environment["ROLLOUT_LOG"] = log;
        info.Environment["ROLLOUT_PID"] = pidFile;
        File.Delete(pidFile);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command[0]}");

        // setsid may fork (when it leads a process group): the pid file, written by the shell that then execs the
        // command, names the process that runs.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < until)
        {
            if (FromPidFile(pidFile) is { } started)
            {
                return started;
            }

            Thread.Sleep(10);
        }

        throw new InvalidOperationException($"{command[0]} did not start or exited at once (see {log})");
    }

    /// <summary>The process a pid file names, if it still runs.</summary>
    public static LocalProcess? FromPidFile(string pidFile)
    {
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return null;
        }

        return StartTime(pid) is { } start ? new LocalProcess(pid, start) : null;
    }

    /// <summary>Runs, and is the process that was started (not a zombie, not a recycled pid).</summary>
    public bool IsAlive => StartTime(Pid) == StartTicks;

    /// <summary>SIGTERM, then SIGKILL if it is still there after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        if (!IsAlive)
        {
            return;
        }

        await SignalAsync("TERM").ConfigureAwait(false);
        var until = DateTime.UtcNow + grace;
        while (IsAlive && DateTime.UtcNow < until)
        {
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        if (IsAlive)
        {
            await SignalAsync("KILL").ConfigureAwait(false);
            while (IsAlive)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static long? StartTime(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }

        // "pid (comm) state …": comm may hold spaces and parentheses, so fields are counted after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields[0] is "Z" or "X")
        {
            return null;
        }

        return long.Parse(fields[19], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// By pid, through the shell's own kill (every system has /bin/sh, not every one the procps kill): the
    /// project keeps native calls out of the router executable.
    /// </summary>
    private async Task SignalAsync(string signal)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"kill -{signal} {Pid.ToString(CultureInfo.InvariantCulture)}");
        using var kill = Process.Start(info)!;
        await kill.WaitForExitAsync().ConfigureAwait(false);
    }
}
