namespace Router.Registry.Model;

/// <summary>One backend instance: <c>{prefix}/{name}/hosts/{Id}</c> = <c>Host:Port</c>.</summary>
/// <param name="Id">The last segment of the key (instance number, sequence id, …).</param>
/// <param name="Host">An IPv4 or IPv6 address (without brackets) or a host name.</param>
/// <param name="Port">1–65535.</param>
/// <param name="CreateRevision">etcd's create revision of the key; orders hosts alike on every node.</param>
/// <param name="LeaseId">The lease the key is bound to, 0 when none.</param>
public sealed record ServiceHost(string Id, string Host, int Port, long CreateRevision, long LeaseId = 0)
{
    /// <summary>The address as a URI authority: <c>10.0.0.1:80</c>, <c>[fd00::1]:80</c>, <c>web-1:80</c>.</summary>
    public string Authority => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
