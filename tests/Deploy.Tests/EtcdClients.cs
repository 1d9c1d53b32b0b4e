namespace Router.Deploy.Tests;

/// <summary>What the shipped units and configs give etcd's clients: endpoints and the certificate files.</summary>
internal static class EtcdClients
{
    /// <summary>The router unit's etcd TLS settings: the <c>-e ROUTER_ETCD_*=FILE</c> of its docker run, as option names.</summary>
    public static (string Ca, string Cert, string Key) Router()
    {
        var run = UnitFile.Words(UnitFile.Parse(UnitsFolder.Read("router.service")).Value("Service", "ExecStart")!);
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < run.Length; i++)
        {
            if (run[i] == "-e" && run[i + 1].Contains('=', StringComparison.Ordinal))
            {
                var (name, value) = (run[i + 1][..run[i + 1].IndexOf('=', StringComparison.Ordinal)], run[i + 1][(run[i + 1].IndexOf('=', StringComparison.Ordinal) + 1)..]);
                variables[name] = value;
            }
        }

        return (Get(variables, "ROUTER_ETCD_CA"), Get(variables, "ROUTER_ETCD_CERT"), Get(variables, "ROUTER_ETCD_KEY"));
    }

    /// <summary>The sidekick unit's <c>--etcd-ca/--etcd-cert/--etcd-key</c>.</summary>
    public static (string Ca, string Cert, string Key) Announcer()
    {
        var run = UnitFile.Words(UnitFile.Parse(UnitsFolder.Read("web-presence@.service")).Value("Service", "ExecStart")!);
        return (UnitFileTests.OptionAfter(run, "--etcd-ca"), UnitFileTests.OptionAfter(run, "--etcd-cert"), UnitFileTests.OptionAfter(run, "--etcd-key"));
    }

    /// <summary>cloud-config's fleet section: <c>etcd_cafile/etcd_certfile/etcd_keyfile</c>.</summary>
    public static (string Ca, string Cert, string Key) Fleet()
    {
        var fleet = CloudConfig.Map(CloudConfig.Map(CloudConfig.Load().Root, "coreos"), "fleet");
        return (CloudConfig.Scalar(fleet, "etcd_cafile") ?? "", CloudConfig.Scalar(fleet, "etcd_certfile") ?? "", CloudConfig.Scalar(fleet, "etcd_keyfile") ?? "");
    }

    private static string Get(Dictionary<string, string> variables, string name) =>
        variables.TryGetValue(name, out var value) ? value : throw new Xunit.Sdk.XunitException($"router.service passes no -e {name}=FILE");
}
