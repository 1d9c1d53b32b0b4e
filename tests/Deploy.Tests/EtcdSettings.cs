namespace Router.Deploy.Tests;

/// <summary>
/// The settings a shipped config gives its etcd member, as etcd's flag names (without <c>--</c>) to values,
/// with the node's private address written as <see cref="PrivateIp"/> and certificate paths as they are on
/// the node, so the two configs can be compared and an etcd started with them.
/// </summary>
internal sealed record EtcdSettings(IReadOnlyDictionary<string, string> Flags, string Source)
{
    public const string PrivateIp = "PRIVATE_IP";

    /// <summary>The flags whose value is a file of the cluster's PKI.</summary>
    public static readonly string[] FileFlags =
        ["trusted-ca-file", "cert-file", "key-file", "peer-trusted-ca-file", "peer-cert-file", "peer-key-file"];

    /// <summary>Where the node keeps the certificates (node-secrets writes them there).</summary>
    public const string HostTlsDir = "/etc/etcd/tls";

    public string this[string flag] => Flags.TryGetValue(flag, out var value) ? value : throw new Xunit.Sdk.XunitException($"{Source}: etcd gets no --{flag}");

    /// <summary>
    /// cloud-config.yaml: the <c>ETCD_*</c> variables of etcd-member's drop-in (etcd reads <c>ETCD_X_Y</c> as
    /// <c>--x-y</c>). The wrapper's own variables are left out; <c>ETCD_SSL_DIR</c> is the host folder the
    /// wrapper mounts at <c>/etc/ssl/certs</c>, so paths there are turned back into host paths.
    /// </summary>
    public static EtcdSettings FromCloudConfig(CloudConfig config)
    {
        var environment = CloudConfig.DropIns(config.Unit("etcd-member.service"))
            .SelectMany(d => UnitFile.Parse(d.Content).Values("Service", "Environment"))
            .Select(e => e.Trim('"'))
            .Where(e => e.StartsWith("ETCD_", StringComparison.Ordinal))
            .ToDictionary(e => e[..e.IndexOf('=', StringComparison.Ordinal)], e => e[(e.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);
        var sslDir = environment.GetValueOrDefault("ETCD_SSL_DIR", "/etc/ssl/certs");
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in environment)
        {
            if (name is "ETCD_IMAGE_TAG" or "ETCD_SSL_DIR" or "ETCD_IMAGE_URL" or "ETCD_USER" or "ETCD_DATA_DIR")
            {
                continue;
            }

            var flag = name["ETCD_".Length..].ToLowerInvariant().Replace('_', '-');
            flags[flag] = value.Replace("$private_ipv4", PrivateIp, StringComparison.Ordinal)
                .Replace("/etc/ssl/certs/", sslDir.TrimEnd('/') + "/", StringComparison.Ordinal);
        }

        return new EtcdSettings(flags, "cloud-config.yaml etcd-member");
    }

    /// <summary>deploy/flatcar/cluster.bu: the arguments after the etcd program in etcd-member's ExecStart.</summary>
    public static EtcdSettings FromButane(ButaneConfig config)
    {
        var unit = UnitFile.Parse(config.UnitContents("etcd-member.service"));
        var command = unit.Value("Service", "ExecStart")!;

        // systemd puts the unit's own Environment= values in for ${NAME} (the node's address comes from a file).
        foreach (var assignment in unit.Values("Service", "Environment"))
        {
            var equals = assignment.IndexOf('=', StringComparison.Ordinal);
            command = command.Replace("${" + assignment[..equals] + "}", assignment[(equals + 1)..], StringComparison.Ordinal);
        }

        var words = UnitFile.Words(command);
        var at = Array.IndexOf(words, "/usr/local/bin/etcd");
        Assert.True(at > 0, "etcd-member's ExecStart does not run /usr/local/bin/etcd");
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = at + 1; i < words.Length; i++)
        {
            Assert.StartsWith("--", words[i], StringComparison.Ordinal);
            var word = words[i][2..];
            string name, value;
            if (word.Contains('=', StringComparison.Ordinal))
            {
                name = word[..word.IndexOf('=', StringComparison.Ordinal)];
                value = word[(word.IndexOf('=', StringComparison.Ordinal) + 1)..];
            }
            else
            {
                name = word;
                value = words[++i];
            }

            flags[name] = value.Replace("${COREOS_GCE_IP_LOCAL_0}", PrivateIp, StringComparison.Ordinal);
        }

        return new EtcdSettings(flags, "cluster.bu etcd-member");
    }

    /// <summary>The URLs of a comma-separated flag value.</summary>
    public IReadOnlyList<Uri> Urls(string flag) =>
        this[flag].Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(u => new Uri(u))
            .ToList();
}
