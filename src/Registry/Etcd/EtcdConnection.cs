using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace Router.Registry.Etcd;

/// <summary>
/// gRPC channels to the etcd endpoints, one in use at a time. A failed call moves to the next endpoint, so a
/// cluster keeps serving while one member is down. With a user, the auth token is fetched on first use and
/// fetched again when etcd says it is no longer valid. The raw gRPC clients are internal: etcd is spoken only in
/// this assembly, and other projects use its operations (<see cref="GetAsync"/>, <see cref="LeasedRegistration"/>,
/// <see cref="EtcdLock"/>, <see cref="RegistryWatcher"/>).
/// </summary>
public sealed partial class EtcdConnection : IDisposable
{
    private readonly EtcdOptions _options;
    private readonly ILogger _logger;
    private readonly GrpcChannel?[] _channels;
    private readonly Lock _gate = new();
    private readonly X509Certificate2Collection? _trust;
    private readonly X509Certificate2? _clientCertificate;
    private int _current;
    private string? _token;

    public EtcdConnection(EtcdOptions options, ILogger<EtcdConnection> logger)
    {
        _options = options;
        _logger = logger;
        _channels = new GrpcChannel?[options.Endpoints.Count];
        if (options.CaFile is not null)
        {
            _trust = [];
            _trust.ImportFromPemFile(options.CaFile);
        }

        if (options.CertFile is not null && options.KeyFile is not null)
        {
            // Re-exported: on Linux an ephemeral PEM key works for TLS client auth only after a PKCS#12 round trip.
            using var pem = X509Certificate2.CreateFromPemFile(options.CertFile, options.KeyFile);
            _clientCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
    }

    public IReadOnlyList<Uri> Endpoints => _options.Endpoints;

    public EtcdOptions Options => _options;

    /// <summary>The endpoint calls go to now.</summary>
    public Uri CurrentEndpoint => _options.Endpoints[Volatile.Read(ref _current)];

    internal KV.KVClient Kv => new(Channel());

    internal Watch.WatchClient Watch => new(Channel());

    internal Lease.LeaseClient Lease => new(Channel());

    internal Cluster.ClusterClient Cluster => new(Channel());

    /// <summary>Moves to the next endpoint after a failure on the current one.</summary>
    internal void Failover(Uri failed)
    {
        lock (_gate)
        {
            if (_options.Endpoints.Count > 1 && _options.Endpoints[_current] == failed)
            {
                _current = (_current + 1) % _options.Endpoints.Count;
                Log.FailedOver(_logger, failed, _options.Endpoints[_current]);
            }
        }
    }

    /// <summary>Call options with the auth token (when a user is set) and a deadline.</summary>
    internal async ValueTask<CallOptions> CallOptionsAsync(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        DateTime? deadline = timeout is { } t ? DateTime.UtcNow + t : null;
        if (_options.User is null)
        {
            return new CallOptions(deadline: deadline, cancellationToken: cancellationToken);
        }

        var token = Volatile.Read(ref _token) ?? await AuthenticateAsync(cancellationToken).ConfigureAwait(false);
        return new CallOptions(new Metadata { { "token", token } }, deadline, cancellationToken);
    }

    /// <summary>
    /// Runs a unary call with failover: on an unreachable member the next endpoint is tried, on an expired
    /// token a new one is fetched, each at most once per endpoint.
    /// </summary>
    internal async Task<T> CallAsync<T>(Func<CallInvokerClients, CallOptions, Task<T>> call, CancellationToken cancellationToken)
    {
        var attempts = Math.Max(1, _options.Endpoints.Count) + 1;
        for (var attempt = 1; ; attempt++)
        {
            var endpoint = CurrentEndpoint;
            try
            {
                var options = await CallOptionsAsync(_options.CallTimeout, cancellationToken).ConfigureAwait(false);
                return await call(new CallInvokerClients(Channel()), options).ConfigureAwait(false);
            }
            catch (RpcException e) when (attempt < attempts && !cancellationToken.IsCancellationRequested && IsRetryable(e))
            {
                NoteFailure(e, endpoint);
            }
        }
    }

    /// <summary>
    /// The one answer to a failed call or stream on <paramref name="endpoint"/>: a refused token is forgotten (the next
    /// call fetches a new one), anything else moves to the next endpoint. True when it was the token.
    /// </summary>
    internal bool NoteFailure(Exception e, Uri endpoint)
    {
        if (e is RpcException r && IsAuthFailure(r))
        {
            InvalidateToken();
            return true;
        }

        Failover(endpoint);
        return false;
    }

    /// <summary>Forgets the auth token after etcd refused it; the next call fetches a new one.</summary>
    internal void InvalidateToken() => Volatile.Write(ref _token, null);

    /// <summary>
    /// True when etcd refused the token, not the user: a new token fixes it. "auth store is old" is etcd's answer
    /// to a token issued before any change to users or roles (someone else's included).
    /// </summary>
    internal static bool IsAuthFailure(RpcException e) =>
        e.StatusCode == StatusCode.Unauthenticated
        || (e.StatusCode == StatusCode.InvalidArgument
            && (e.Status.Detail.Contains("auth token", StringComparison.OrdinalIgnoreCase)
                || e.Status.Detail.Contains("auth store is old", StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// The failure in words for the log and the status, with a hint where gRPC's own text misleads: a TLS
    /// endpoint that drops the connection during the handshake has usually refused a missing or unknown client
    /// certificate.
    /// </summary>
    public string Describe(RpcException e, Uri endpoint)
    {
        var text = $"{e.StatusCode}: {e.Status.Detail}";
        if (endpoint.Scheme != Uri.UriSchemeHttps || e.StatusCode is not (StatusCode.Unavailable or StatusCode.Internal))
        {
            return text;
        }

        if (e.Status.Detail.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal)
            || e.Status.Detail.Contains("remote certificate", StringComparison.OrdinalIgnoreCase))
        {
            return text + $" (etcd's certificate was not accepted: is it signed by the CA in {_options.CaFile ?? "the system trust store"}, for the name or IP in the etcd URL?)";
        }

        if (e.Status.Detail.Contains("HTTP/2 handshake", StringComparison.Ordinal)
            || e.Status.Detail.Contains("SSL", StringComparison.Ordinal))
        {
            return text + (_clientCertificate is null
                ? " (TLS to etcd failed: if etcd runs with --client-cert-auth, give --etcd-cert and --etcd-key)"
                : " (TLS to etcd failed: is the client certificate signed by a CA in etcd's --trusted-ca-file?)");
        }

        return text;
    }

    internal static bool IsRetryable(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown
        || IsAuthFailure(e);

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel?.Dispose();
        }

        _clientCertificate?.Dispose();
    }

    private async Task<string> AuthenticateAsync(CancellationToken cancellationToken)
    {
        // An unreachable member throws Unavailable here like any call, so the caller fails over and the token
        // is fetched from the next endpoint.
        var endpoint = CurrentEndpoint;
        var client = new Auth.AuthClient(Channel());
        AuthenticateResponse response;
        try
        {
            response = await client.AuthenticateAsync(
                new AuthenticateRequest { Name = _options.User, Password = _options.Password ?? "" },
                deadline: DateTime.UtcNow + _options.CallTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.PermissionDenied)
        {
            // A wrong user or password, or auth not enabled: a configuration error, not an outage.
            Log.LoginRefused(_logger, endpoint, _options.User!, e.Status.Detail);
            throw;
        }

        Volatile.Write(ref _token, response.Token);
        Log.Authenticated(_logger, _options.User!, endpoint);
        return response.Token;
    }

    private GrpcChannel Channel()
    {
        var index = Volatile.Read(ref _current);
        var channel = Volatile.Read(ref _channels[index]);
        if (channel is not null)
        {
            return channel;
        }

        lock (_gate)
        {
            return _channels[index] ??= CreateChannel(_options.Endpoints[index]);
        }
    }

    private GrpcChannel CreateChannel(Uri endpoint)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = _options.CallTimeout,
            // Pings find a member that vanished without closing the connection (power loss, partition).
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
        };

        if (endpoint.Scheme == Uri.UriSchemeHttps)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = _clientCertificate is null ? null : [_clientCertificate],
                RemoteCertificateValidationCallback = _trust is null ? null : ValidateWithOwnCa,
            };
        }

        return GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            // gRPC's default backoff grows to 120 s; a registry that is minutes late after etcd returns is useless.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = _options.MaxReconnectBackoff,
            // Registry values are small, but a full read of 10,000 services is not.
            MaxReceiveMessageSize = 256 * 1024 * 1024,
        });
    }

    private bool ValidateWithOwnCa(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }

        // .NET checks the name against the certificate's SAN, IP addresses included (an etcd URL of
        // https://127.0.0.1:2379 needs "IP Address:127.0.0.1" there, as etcd's own clients do).
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            Log.ServerCertificateRejected(_logger, certificate.Subject, "its names do not include the host of the etcd URL");
            return false;
        }

        using var ownChain = new X509Chain();
        ownChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        ownChain.ChainPolicy.CustomTrustStore.AddRange(_trust!);
        ownChain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            // Intermediates etcd sent with its certificate; only the CA file is trusted as a root.
            foreach (var element in chain.ChainElements.Skip(1))
            {
                ownChain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (ownChain.Build(leaf))
        {
            return true;
        }

        var reasons = string.Join("; ", ownChain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        Log.ServerCertificateRejected(_logger, certificate.Subject, $"it does not chain to the CA in {_options.CaFile} ({reasons})");
        return false;
    }

    /// <summary>The typed clients of one channel, handed to <see cref="CallAsync{T}"/>.</summary>
    internal readonly struct CallInvokerClients(GrpcChannel channel)
    {
        public KV.KVClient Kv => new(channel);

        public Lease.LeaseClient Lease => new(channel);

        public Cluster.ClusterClient Cluster => new(channel);
    }

    private static partial class Log
    {
        [LoggerMessage(EventIds.EtcdFailedOver, LogLevel.Warning, "etcd endpoint {Failed} failed; using {Next}")]
        public static partial void FailedOver(ILogger logger, Uri failed, Uri next);

        [LoggerMessage(EventIds.EtcdAuthenticated, LogLevel.Information, "Authenticated to etcd as {User} on {Endpoint}")]
        public static partial void Authenticated(ILogger logger, string user, Uri endpoint);

        [LoggerMessage(EventIds.EtcdLoginRefused, LogLevel.Error, "etcd {Endpoint} refused the login of user {User}: {Detail}; check --etcd-user and the password (ROUTER_ETCD_PASSWORD or --etcd-password-file)")]
        public static partial void LoginRefused(ILogger logger, Uri endpoint, string user, string detail);

        [LoggerMessage(EventIds.EtcdServerCertificateRejected, LogLevel.Error, "etcd's TLS certificate {Subject} rejected: {Reason}")]
        public static partial void ServerCertificateRejected(ILogger logger, string subject, string reason);
    }
}
