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
/// fetched again when etcd says it is no longer valid.
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

    public KV.KVClient Kv => new(Channel());

    public Watch.WatchClient Watch => new(Channel());

    public Lease.LeaseClient Lease => new(Channel());

    public Cluster.ClusterClient Cluster => new(Channel());

    /// <summary>Moves to the next endpoint after a failure on the current one.</summary>
    public void Failover(Uri failed)
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
    public async ValueTask<CallOptions> CallOptionsAsync(TimeSpan? timeout, CancellationToken cancellationToken)
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
    public async Task<T> CallAsync<T>(Func<CallInvokerClients, CallOptions, Task<T>> call, CancellationToken cancellationToken)
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
                if (IsAuthFailure(e))
                {
                    InvalidateToken();
                }
                else
                {
                    Failover(endpoint);
                }
            }
        }
    }

    /// <summary>Forgets the auth token after etcd refused it; the next call fetches a new one.</summary>
    public void InvalidateToken() => Volatile.Write(ref _token, null);

    public static bool IsAuthFailure(RpcException e) =>
        e.StatusCode == StatusCode.Unauthenticated
        || (e.StatusCode == StatusCode.InvalidArgument && e.Status.Detail.Contains("auth token", StringComparison.OrdinalIgnoreCase));

    public static bool IsRetryable(RpcException e) =>
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
        var client = new Auth.AuthClient(Channel());
        var response = await client.AuthenticateAsync(
            new AuthenticateRequest { Name = _options.User, Password = _options.Password ?? "" },
            deadline: DateTime.UtcNow + _options.CallTimeout,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _token, response.Token);
        Log.Authenticated(_logger, _options.User!);
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

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var ownChain = new X509Chain();
        ownChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        ownChain.ChainPolicy.CustomTrustStore.AddRange(_trust!);
        ownChain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return ownChain.Build(leaf);
    }

    /// <summary>The typed clients of one channel, handed to <see cref="CallAsync{T}"/>.</summary>
    public readonly struct CallInvokerClients(GrpcChannel channel)
    {
        public KV.KVClient Kv => new(channel);

        public Lease.LeaseClient Lease => new(channel);

        public Cluster.ClusterClient Cluster => new(channel);
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Warning, "etcd endpoint {Failed} failed; using {Next}")]
        public static partial void FailedOver(ILogger logger, Uri failed, Uri next);

        [LoggerMessage(101, LogLevel.Information, "Authenticated to etcd as {User}")]
        public static partial void Authenticated(ILogger logger, string user);
    }
}
