using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Router.Routing;

/// <summary>The one HTTP client for every backend: connection pools per host, no proxy, no cookies, no redirects.</summary>
internal sealed class BackendClient : IDisposable
{
    public BackendClient()
    {
        Invoker = new HttpMessageInvoker(new SentOnceHandler(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            // The same connect as the direct path and the relays. The handler's own timeout also covers the TLS
            // handshake to an https backend; either way a slow backend is a ConnectionError: try the next host.
            ConnectTimeout = BackendSocket.ConnectTimeout,
            ConnectCallback = static async (context, cancellationToken) =>
                new NetworkStream(await BackendSocket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false), ownsSocket: true),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            // Trace headers are the client's business; the router adds none.
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
            // Header bytes pass through unchanged both ways: Kestrel decodes them as Latin-1 (RouterHost), and
            // Latin-1 writes each char back as the byte it came from; without this, non-ASCII is refused.
            RequestHeaderEncodingSelector = static (_, _) => Encoding.Latin1,
            ResponseHeaderEncodingSelector = static (_, _) => Encoding.Latin1,
        }));
    }

    public HttpMessageInvoker Invoker { get; }

    public void Dispose() => Invoker.Dispose();

    /// <summary>
    /// Keeps SocketsHttpHandler from sending a request that is not idempotent twice (RFC 9110 section 9.2.2):
    /// it resends a request without content when a reused connection ends before any response byte (up to
    /// three more times), never one with content. An empty content is that guarantee for a POST or PATCH
    /// without a body; it goes out as "Content-Length: 0", which HttpClient writes for these methods anyway.
    /// (YARP refuses a content set by a transform, so this sits below it.)
    /// </summary>
    private sealed class SentOnceHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is null && !ForwardingPolicy.MaySendAgain(request.Method.Method))
            {
                request.Content = new ByteArrayContent([]);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
