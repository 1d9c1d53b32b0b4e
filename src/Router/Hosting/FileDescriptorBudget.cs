using System.Globalization;

namespace Router.Hosting;

/// <summary>
/// What the process's open-file limit (RLIMIT_NOFILE) allows. Every relayed TCP connection holds two
/// descriptors (client and backend), every proxied HTTP connection up to two as well, and a router that
/// runs out of descriptors fails everything at once: accepts, backend connects, etcd, DNS, its own log.
/// So a fixed reserve is kept for the process itself (runtime, listeners, etcd, DNS, admin), and the rest
/// is split: half for TCP relays, half for HTTP clients and their backend connections, like HAProxy's
/// maxconn, which is derived from ulimit-n when it is not set.
/// </summary>
internal sealed record FileDescriptorBudget(long? OpenFiles)
{
    /// <summary>
    /// Descriptors kept for the router itself. Measured: an idle router holds about 130 (runtime, epoll,
    /// listeners, etcd channel, log pipes); the rest covers DNS relay sockets, the admin port, state-file writes.
    /// </summary>
    public const int Reserved = 256;

    /// <summary>TCP relays all host_ports together may hold (2 descriptors each), or null when nothing limits it.</summary>
    public int? TcpRelays => Share();

    /// <summary>HTTP connections one listening port may hold (each with a backend connection), or null when nothing limits it.</summary>
    public int? HttpConnections => Share();

    /// <summary>The soft limit of this process, or null where it cannot be read (not Linux) or is unlimited.</summary>
    public static FileDescriptorBudget ForThisProcess()
    {
        try
        {
            return new(OperatingSystem.IsLinux() ? ParseOpenFiles(File.ReadAllText("/proc/self/limits")) : null);
        }
        catch (IOException)
        {
            return new((long?)null);
        }
    }

    /// <summary>
    /// The soft "Max open files" of a <c>/proc/PID/limits</c> text (proc(5)); null when it is unlimited or
    /// the line is missing. .NET raises the soft limit to the hard one at start, so this is what the process may use.
    /// </summary>
    public static long? ParseOpenFiles(string limits)
    {
        foreach (var line in limits.Split('\n'))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                continue;
            }

            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) && soft > 0
                ? soft
                : null;
        }

        return null;
    }

    // A quarter of what is above the reserve: half of it for each kind, two descriptors per connection.
    private int? Share() => OpenFiles is { } files ? (int)Math.Clamp((files - Reserved) / 4, 1, int.MaxValue) : null;
}
