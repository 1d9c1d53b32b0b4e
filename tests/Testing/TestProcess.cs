using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Router.Testing;

/// <summary>
/// A real child process (router, announcer, etcd, haproxy…) with its output captured line by line.
/// Every stop and kill of a test's child goes through here: <see cref="StopAsync"/> (SIGTERM by process id, a
/// grace period, then SIGKILL), <see cref="KillAsync"/>, and Dispose, which kills what still runs.
/// </summary>
public sealed partial class TestProcess : IAsyncDisposable
{
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigStop = 19;
    public const int SigCont = 18;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly StringBuilder _all = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private TestProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote so far, stdout and stderr interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_all)
            {
                return _all.ToString();
            }
        }
    }

    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>What the process wrote to stdout alone, line by line.</summary>
    public string StandardOutput
    {
        get
        {
            lock (_all)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>What the process wrote to stderr alone, line by line.</summary>
    public string StandardError
    {
        get
        {
            lock (_all)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="fileName"/>; a <c>.dll</c> is run with <c>dotnet exec</c>.</summary>
    public static TestProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? name = null)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (fileName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            info.FileName = "dotnet";
            info.ArgumentList.Add("exec");
            info.ArgumentList.Add(fileName);
        }
        else
        {
            info.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // A child must not inherit the test host's own settings by accident.
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment.Remove("DOTNET_URLS");
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("ROUTER_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var result = new TestProcess(process, name ?? Path.GetFileNameWithoutExtension(fileName));
        process.OutputDataReceived += (_, e) => result.Add(e.Data, result._stdout);
        process.ErrorDataReceived += (_, e) => result.Add(e.Data, result._stderr);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    public Task WaitForOutputAsync(string fragment, TimeSpan? timeout = null) =>
        Wait.UntilAsync(() =>
        {
            if (_process.HasExited && !Output.Contains(fragment, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before writing '{fragment}':\n{Output}");
            }

            return Output.Contains(fragment, StringComparison.Ordinal);
        }, $"{Name} to write '{fragment}'", timeout);

    /// <summary>Sends a POSIX signal by process id.</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited && NativeMethods.Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Writes <paramref name="text"/> (if any) to the process's stdin and closes it.</summary>
    public async Task CloseInputAsync(string? text = null)
    {
        if (text is not null)
        {
            await _process.StandardInput.WriteAsync(text);
        }

        _process.StandardInput.Close();
    }

    /// <summary>
    /// Stops the process as systemd would: SIGTERM by process id, then SIGKILL if it has not exited within
    /// <paramref name="grace"/> (default 10 s); waits for the exit either way and returns the exit code.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan? grace = null)
    {
        Signal(SigTerm);
        try
        {
            return await WaitForExitAsync(grace ?? TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            return await KillAsync();
        }
    }

    /// <summary>SIGKILL by process id, then waits for the exit and returns the exit code.</summary>
    public async Task<int> KillAsync()
    {
        Signal(SigKill);
        return await WaitForExitAsync();
    }

    /// <summary>Waits for the exit and returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait.DefaultTimeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} (pid {_process.Id}) did not exit in time:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private void Add(string? line, StringBuilder stream)
    {
        if (line is null)
        {
            return;
        }

        _lines.Enqueue(line);
        lock (_all)
        {
            _all.AppendLine(line);
            stream.AppendLine(line);
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);
    }
}
