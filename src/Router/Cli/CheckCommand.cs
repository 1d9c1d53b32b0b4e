using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Router.Hosting;
using Router.Registry;
using Router.Registry.CommandLine;
using Router.Registry.Etcd;
using Router.Registry.Model;

namespace Router.Cli;

/// <summary>
/// <c>router check</c>: reads the registry once (from etcd with the router's own options, or from a saved
/// state file), prints every problem per service and the host_port plan, and exits 0 when clean, 1 when
/// something is skipped or ignored, 2 when it could not check (bad options, etcd unreachable, file unusable).
/// </summary>
internal static class CheckCommand
{
    public const int Clean = 0;
    public const int Problems = 1;
    public const int CannotCheck = 2;

    public const string Usage = """
        Usage: router check [--json] [--file STATE.json] [router options]

        Reads the registry once, as the router would, and reports what the router would skip or ignore:
        every problem per service in plain words, the services with their hosts, and the host_port plan
        (which service gets each port, who loses it to an older key, ports the router itself holds).
        Run it before and after changing keys.

        Options:
          --json              one JSON document instead of text
          --file PATH         read a saved registry (the router's --state-file) instead of etcd
          --etcd, --prefix, --etcd-ca, --etcd-cert, --etcd-key, --etcd-user, --etcd-password-file, and the
          router's own ports (--http, --https, --admin, --dns: a host_port on one of them is a problem):
                              as for the router, also from ROUTER_* and appsettings.json
          --help              this text

        Exit codes: 0 clean, 1 problems found, 2 bad options, etcd unreachable or file unusable.
        """;

    private static readonly OptionTable Table = RouterCommandLine.Table with
    {
        Values = [.. RouterCommandLine.Table.Values, "file"],
        Switches = ["json"],
        FromEnvironment = RouterCommandLine.Table.Values,
        HelpCommand = "router check --help",
    };

    public static async Task<int> RunAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment, IConfiguration settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var json = false;
        string? file = null;

        // The router's own reader: the same names, environment variables, defaults and checks, and two more options.
        var parsed = RouterCommandLine.Parse(Table, args, environment, settings, reader =>
        {
            json = reader.Switch("json");
            file = reader.Get("file")?.Text;
        });
        if (parsed.Help)
        {
            await output.WriteAsync(Usage).ConfigureAwait(false);
            return Clean;
        }

        if (parsed.Options is not { } options)
        {
            foreach (var problem in parsed.Errors)
            {
                await error.WriteLineAsync($"router check: {problem}").ConfigureAwait(false);
            }

            return CannotCheck;
        }

        var layout = new RegistryLayout(options.Prefix) { ReservedPorts = options.OwnPorts() };
        CheckReport report;
        if (file is not null)
        {
            if (!RegistryStateFile.TryLoad(file, layout.Prefix, out var revision, out var savedAt, out var keys, out var reason))
            {
                await error.WriteLineAsync($"router check: --file {file}: {reason}").ConfigureAwait(false);
                return CannotCheck;
            }

            report = CheckReport.Create($"file {file} (saved {savedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z)", layout, keys, revision);
        }
        else
        {
            using var etcd = new EtcdConnection(options.Etcd, NullLogger<EtcdConnection>.Instance);
            IReadOnlyList<RegistryKeyValue> keys;
            long revision;
            try
            {
                // Every endpoint is tried once (the read fails over), each within the call timeout.
                (keys, revision) = await etcd.GetPrefixAsync(layout.WatchPrefix, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                await error.WriteLineAsync($"router check: cannot read etcd {string.Join(",", options.Etcd.Endpoints)}: {etcd.Describe(e, etcd.CurrentEndpoint)}").ConfigureAwait(false);
                return CannotCheck;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or InvalidOperationException)
            {
                await error.WriteLineAsync($"router check: cannot read etcd {string.Join(",", options.Etcd.Endpoints)}: {e.Message}").ConfigureAwait(false);
                return CannotCheck;
            }

            report = CheckReport.Create($"etcd {string.Join(",", options.Etcd.Endpoints)}", layout, keys, revision);
        }

        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(report, CheckJson.Default.CheckReport)).ConfigureAwait(false);
        }
        else
        {
            await output.WriteAsync(Text(report)).ConfigureAwait(false);
        }

        return report.Clean ? Clean : Problems;
    }

    /// <summary>The report for a person: the verdict, then problems per service, services, the host_port plan.</summary>
    public static string Text(CheckReport report)
    {
        var text = new System.Text.StringBuilder();
        var verdict = report.Clean ? "clean" : $"{report.Problems.Count} problem{(report.Problems.Count == 1 ? "" : "s")}";
        text.Append(CultureInfo.InvariantCulture, $"{report.Source}, prefix {report.Prefix}, revision {report.Revision}: {report.Services.Count} service{(report.Services.Count == 1 ? "" : "s")}, {verdict}\n");

        if (!report.Clean)
        {
            text.Append("\nProblems (what the router skips or ignores):\n");
            foreach (var service in report.Problems.GroupBy(p => p.Service).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"  {service.Key}\n");
                foreach (var problem in service)
                {
                    text.Append(CultureInfo.InvariantCulture, $"    {problem.Key}: {problem.Message}\n");
                }
            }
        }

        if (report.Services.Count > 0)
        {
            text.Append("\nServices:\n");
            var width = report.Services.Max(s => s.Name.Length);
            foreach (var service in report.Services)
            {
                var flags = string.Concat(
                    service.HostPort is { } port ? $", host_port {port}" : "",
                    service.Private ? ", private" : "",
                    service.StripPath ? ", strip_path" : "",
                    service.Routed ? "" : ", NOT ROUTED");
                var hosts = service.Hosts.Count == 0 ? (service.Scheme == "tcp" ? "no hosts (connections are closed)" : "no hosts (answers 503)") : string.Join(" ", service.Hosts.Select(h => $"{h.Id}={h.Address}"));
                text.Append(CultureInfo.InvariantCulture, $"  {service.Name.PadRight(width)}  {service.Scheme}{flags}: {hosts}\n");
            }
        }

        if (report.HostPorts.Count > 0)
        {
            text.Append("\nhost_port plan:\n");
            foreach (var claim in report.HostPorts)
            {
                var who = claim.NotServed is { } reason ? $"not served: {reason}"
                    : claim.Winner is { } winner ? winner
                    : "not served";
                var lost = claim.Ignored.Count == 0 || claim.NotServed is not null ? ""
                    : $" (conflict: also claimed by {string.Join(", ", claim.Ignored)}, ignored: {claim.Winner}'s key is older)";
                var claimants = claim.NotServed is not null ? $" (claimed by {string.Join(", ", claim.Ignored)})" : "";
                text.Append(CultureInfo.InvariantCulture, $"  {claim.Port,5}  {who}{lost}{claimants}\n");
            }
        }

        return text.ToString();
    }
}
