using System.Text;
using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// Runs <c>systemd-analyze verify</c> on unit files written to a temporary folder, on a test
/// machine that is no CoreOS node: no docker, etcd or fleet, and no systemd as PID 1.
/// </summary>
/// <remarks>
/// Why substitute rather than filter verify's output: verify reports a missing program or a
/// missing required unit with the same exit code as a real mistake, and matching its message
/// texts would tie the tests to one systemd version. So the few things only a node has are
/// supplied instead: a stub unit for each of the node's own services, and an executable stand-in
/// for each of the node's own programs, but only when that program is absent here. The units
/// are otherwise verified unchanged, and a unit passes only when verify exits 0 and prints
/// nothing at all: an unknown key or section, a bad value, a relative or unknown program, or a
/// dependency on a unit nobody provides all fail. Sections named X-… (fleet's [X-Fleet]) are
/// ignored by systemd itself, silently, as its documentation promises for the X- prefix.
/// The verify is also kept apart from this machine's own configuration: systemd-analyze would
/// otherwise read /etc/systemd/system and /run/systemd too, where a package installed here (Debian's
/// docker.io enables docker.socket under sockets.target.wants) pulls in units that meet the
/// stand-ins. <c>SYSTEMD_UNIT_PATH</c> (systemd's ENVIRONMENT.md) narrows the search to the
/// temporary folder and the vendor folder that holds systemd's own targets; each stand-in is a
/// valid unit of its type, a socket with a Listen setting.
/// </remarks>
internal static class UnitVerifier
{
    /// <summary>
    /// Programs that a CoreOS or Flatcar node ships and a CI machine does not, and /opt/bin/node-secrets,
    /// which the node's boot config writes (deploy/node-secrets; its own tests run it).
    /// </summary>
    public static readonly IReadOnlySet<string> NodePrograms = new HashSet<string>(StringComparer.Ordinal)
    {
        "/usr/bin/docker", "/usr/bin/etcdctl", "/usr/bin/fleetctl", "/usr/bin/rkt", "/opt/bin/node-secrets",
        // Where units/router-binary.service expects the published router (a binary install, not this machine's).
        "/usr/local/bin/router",
    };

    /// <summary>Units that a CoreOS or Flatcar node ships, which the deployment's units depend on.</summary>
    public static readonly IReadOnlySet<string> NodeUnits = new HashSet<string>(StringComparer.Ordinal)
    {
        "docker.service", "docker.socket", "etcd-member.service", "etcd2.service", "etcd.service",
        "fleet.service", "fleet.socket", "flanneld.service", "coreos-metadata.service",
    };

    /// <summary>Where Debian installs systemd's own units (merged /usr: /lib/systemd/system is the same folder).</summary>
    private const string VendorUnits = "/usr/lib/systemd/system";

    private static readonly string[] ExecKeys =
        ["ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload", "ExecCondition"];

    /// <summary>
    /// Writes <paramref name="files"/> (relative path → content; drop-ins as <c>name.d/x.conf</c>)
    /// next to each other and verifies <paramref name="unit"/>, which may be an instance
    /// (<c>web@1.service</c>) of a template among the files.
    /// </summary>
    public static async Task<VerifyResult> VerifyAsync(string unit, IReadOnlyDictionary<string, string> files)
    {
        var analyze = FindSystemdAnalyze();
        var dir = Directory.CreateTempSubdirectory("deploy-verify-");
        try
        {
            foreach (var stub in NodeUnits.Where(u => !files.ContainsKey(u)))
            {
                await File.WriteAllTextAsync(Path.Combine(dir.FullName, stub), StandIn(stub, dir.FullName));
            }

            foreach (var (name, content) in files)
            {
                var path = Path.Combine(dir.FullName, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, SubstituteNodePrograms(content, Path.Combine(dir.FullName, "node")));
            }

            await using var process = TestProcess.Start(analyze, ["verify", "--man=no", Path.Combine(dir.FullName, unit)], SearchEnvironment(dir.FullName), name: "systemd-analyze");
            var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            return new VerifyResult(exitCode, process.Output.Replace(dir.FullName, "<dir>", StringComparison.Ordinal).Trim());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The unit search path for a verify in <paramref name="dir"/>: that folder first, then only the
    /// vendor units (sysinit.target, basic.target, …); no /etc or /run of this machine. No trailing
    /// ':' — that would append systemd's whole default path again.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> SearchEnvironment(string dir) => new Dictionary<string, string?>
    {
        ["SYSTEMD_UNIT_PATH"] = $"{dir}:{VendorUnits}",
    };

    /// <summary>A minimal valid unit of the stand-in's type: a socket needs a Listen setting, a service a program.</summary>
    public static string StandIn(string unit, string dir) => Path.GetExtension(unit) switch
    {
        ".socket" => $"[Unit]\nDescription=stand-in for the node's {unit}\n\n[Socket]\nListenStream={Path.Combine(dir, unit)}.sock\n",
        ".service" => $"[Unit]\nDescription=stand-in for the node's {unit}\n\n[Service]\nExecStart=/bin/true\n",
        _ => throw new ArgumentException($"no stand-in for a unit of type {Path.GetExtension(unit)}", nameof(unit)),
    };

    /// <summary>Replaces the program of an Exec line with an executable stand-in when it is one of the node's and absent here.</summary>
    public static string SubstituteNodePrograms(string content, string standInRoot)
    {
        var result = new StringBuilder();
        foreach (var line in content.Split('\n'))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var key = equals > 0 ? line[..equals].Trim() : "";
            if (ExecKeys.Contains(key) && UnitFile.Words(line[(equals + 1)..]).Length > 0)
            {
                var program = UnitFile.Program(line[(equals + 1)..]);
                if (NodePrograms.Contains(program) && !File.Exists(program))
                {
                    var standIn = standInRoot + program;
                    CreateStandIn(standIn);
                    var at = line.IndexOf(program, equals, StringComparison.Ordinal);
                    result.Append(line, 0, at).Append(standIn).Append(line, at + program.Length, line.Length - at - program.Length).Append('\n');
                    continue;
                }
            }

            result.Append(line).Append('\n');
        }

        return result.ToString(0, result.Length - 1);
    }

    private static void CreateStandIn(string path)
    {
        if (File.Exists(path))
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    public static string FindSystemdAnalyze()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Select(d => Path.Combine(d, "systemd-analyze"))
            .FirstOrDefault(File.Exists);
        return path ?? throw new InvalidOperationException(
            "systemd-analyze is not installed; it comes with Debian's systemd package: apt-get install -y systemd");
    }
}

internal sealed record VerifyResult(int ExitCode, string Output)
{
    public bool Passed => ExitCode == 0 && Output.Length == 0;

    public override string ToString() => $"exit {ExitCode}: {(Output.Length == 0 ? "(no output)" : Output)}";
}
