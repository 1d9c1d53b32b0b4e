using System.Diagnostics;
using System.Net;

namespace Router.Routing;

/// <summary>The one HTTP client for every backend: connection pools per host, no proxy, no cookies, no redirects.</summary>
internal sealed class BackendClient : IDisposable
{
    public BackendClient()
    {
        Invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            // A backend that does not accept within this is as good as dead: try the next host.
            ConnectTimeout = TimeSpan.FromSeconds(3),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            // Trace headers are the client's business; the router adds none.
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
        });
    }

    public HttpMessageInvoker Invoker { get; }

    public void Dispose() => Invoker.Dispose();
}
