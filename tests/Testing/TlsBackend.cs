using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Router.Testing;

/// <summary>
/// A real TLS server on 127.0.0.1 (SslStream, its own certificate): an HTTP/1.1 GET gets <c>200</c> with the
/// body <c>{name}</c> and the connection closes; any other first line is echoed back as <c>{name}: {line}</c>,
/// line by line. Lets a client prove it spoke TLS with this server, not with something in between.
/// </summary>
public sealed class TlsBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _cts = new();
    private int _handshakes;

    private TlsBackend(string name, X509Certificate2 certificate)
    {
        Name = name;
        _certificate = certificate;
        _listener = Ports.ListenLoopback();
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _ = AcceptAsync();
    }

    public string Name { get; }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>TLS handshakes completed here.</summary>
    public int Handshakes => Volatile.Read(ref _handshakes);

    public static TlsBackend Start(string name, X509Certificate2 certificate) => new(name, certificate);

    public ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task AcceptAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_cts.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        try
        {
            await using var tls = new SslStream(new NetworkStream(client, ownsSocket: true));
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _cts.Token);
            Interlocked.Increment(ref _handshakes);
            using var reader = new StreamReader(tls, Encoding.ASCII, leaveOpen: true);
            var first = await reader.ReadLineAsync(_cts.Token);
            if (first is null)
            {
                return;
            }

            if (first.StartsWith("GET ", StringComparison.Ordinal))
            {
                while (!string.IsNullOrEmpty(await reader.ReadLineAsync(_cts.Token)))
                {
                }

                var body = Name + "\n";
                await tls.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"), _cts.Token);
                await tls.ShutdownAsync();
                return;
            }

            for (var line = first; line is not null; line = await reader.ReadLineAsync(_cts.Token))
            {
                await tls.WriteAsync(Encoding.ASCII.GetBytes($"{Name}: {line}\n"), _cts.Token);
                await tls.FlushAsync(_cts.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // A client that went away or failed its handshake: the next one is served all the same.
        }
    }
}
