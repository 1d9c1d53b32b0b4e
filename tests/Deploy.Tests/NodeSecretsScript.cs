using Router.Testing;

namespace Router.Deploy.Tests;

/// <summary>
/// deploy/node-secrets run for real: against a stand-in of the GCE metadata server (Python's http.server over
/// a folder whose file names are the metadata keys; a missing key answers 404, as the real server does) and
/// with its files written under a temporary root instead of /.
/// </summary>
internal sealed class NodeSecretsScript : IAsyncDisposable
{
    private readonly TestProcess _server;

    private NodeSecretsScript(TestProcess server, string metadata, string root, string url)
    {
        _server = server;
        Metadata = metadata;
        Root = root;
        Url = url;
    }

    public static string Path => System.IO.Path.Combine(RepoPaths.Root, "deploy", "node-secrets");

    /// <summary>The folder served as the metadata attributes: write a key's value as a file of that name.</summary>
    public string Metadata { get; }

    /// <summary>Where the script writes what it would write to /.</summary>
    public string Root { get; }

    public string Url { get; }

    public string Tls => System.IO.Path.Combine(Root, "etc", "etcd", "tls");

    public static async Task<NodeSecretsScript> StartAsync()
    {
        var metadata = Directory.CreateTempSubdirectory("deploy-metadata-").FullName;
        var root = Directory.CreateTempSubdirectory("deploy-node-root-").FullName;
        var port = Ports.FreeTcp();
        var url = $"http://127.0.0.1:{port}";
        var server = TestProcess.Start("python3", ["-m", "http.server", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--directory", metadata], name: "metadata");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Wait.UntilAsync(async () =>
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"the metadata stand-in exited: {server.Output}");
            }

            try
            {
                using var response = await http.GetAsync(url + "/");
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the metadata stand-in to answer");
        return new NodeSecretsScript(server, metadata, root, url);
    }

    /// <summary>Puts the files of a PKI made by deploy/etcd-certs.sh under their metadata keys.</summary>
    public void PutCertificates(string pki, bool member)
    {
        File.Copy(System.IO.Path.Combine(pki, "ca.pem"), System.IO.Path.Combine(Metadata, "etcd-ca"), overwrite: true);
        File.Copy(System.IO.Path.Combine(pki, "client.pem"), System.IO.Path.Combine(Metadata, "etcd-client-cert"), overwrite: true);
        File.Copy(System.IO.Path.Combine(pki, "client-key.pem"), System.IO.Path.Combine(Metadata, "etcd-client-key"), overwrite: true);
        if (member)
        {
            File.Copy(System.IO.Path.Combine(pki, "member.pem"), System.IO.Path.Combine(Metadata, "etcd-member-cert"), overwrite: true);
            File.Copy(System.IO.Path.Combine(pki, "member-key.pem"), System.IO.Path.Combine(Metadata, "etcd-member-key"), overwrite: true);
        }
    }

    /// <summary>Runs the script once; its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> RunAsync()
    {
        await using var run = TestProcess.Start("/bin/sh", [Path], new Dictionary<string, string?>
        {
            ["ROUTER_SECRETS_METADATA"] = Url,
            ["ROUTER_SECRETS_ROOT"] = Root,
        }, name: "node-secrets");
        var exitCode = await run.WaitForExitAsync(TimeSpan.FromSeconds(120));
        return (exitCode, run.Output);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(Metadata, recursive: true);
        Directory.Delete(Root, recursive: true);
    }
}
