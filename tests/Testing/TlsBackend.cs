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
public sealed class TlsBackend : LoopbackServer
{
    private readonly X509Certificate2 _certificate;
    private int _handshakes;

    private TlsBackend(string name, X509Certificate2 certificate)
    {
        Name = name;
        _certificate = certificate;
        StartAccepting();
    }

    public string Name { get; }

    /// <summary>TLS handshakes completed here.</summary>
    public int Handshakes => Volatile.Read(ref _handshakes);

    public static TlsBackend Start(string name, X509Certificate2 certificate) => new(name, certificate);

    protected override async Task ServeAsync(Socket client)
    {
        try
        {
            await using var tls = new SslStream(new NetworkStream(client, ownsSocket: true));
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, Stopping);
            Interlocked.Increment(ref _handshakes);
            using var reader = new StreamReader(tls, Encoding.ASCII, leaveOpen: true);
            var first = await reader.ReadLineAsync(Stopping);
            if (first is null)
            {
                return;
            }

            if (first.StartsWith("GET ", StringComparison.Ordinal))
            {
                while (!string.IsNullOrEmpty(await reader.ReadLineAsync(Stopping)))
                {
                }

                var body = Name + "\n";
                await tls.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"), Stopping);
                await tls.ShutdownAsync();
                return;
            }

            for (var line = first; line is not null; line = await reader.ReadLineAsync(Stopping))
            {
                await tls.WriteAsync(Encoding.ASCII.GetBytes($"{Name}: {line}\n"), Stopping);
                await tls.FlushAsync(Stopping);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // A client that went away or failed its handshake: the next one is served all the same.
        }
    }
}
