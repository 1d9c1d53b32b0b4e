using System.Net;

namespace Router.Announcer.Health;

/// <summary><c>--check URL</c>: healthy when a GET is answered with 2xx or 3xx in time (redirects are not followed).</summary>
internal sealed class HttpHealthCheck(HttpClient client, Uri url) : IHealthCheck, IDisposable
{
    public string Description => $"GET {url}";

    /// <summary>The client the check needs: no redirects, no proxy (the target is the instance beside us), no cookies.</summary>
    public static HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        // A restarted backend must not be probed over a connection that belonged to the old one.
        PooledConnectionLifetime = TimeSpan.FromSeconds(30),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<HealthCheckResult> CheckAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            return IsHealthy(response.StatusCode)
                ? HealthCheckResult.Pass
                : HealthCheckResult.Fail($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Fail($"no answer within {timeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException e)
        {
            return HealthCheckResult.Fail(e.HttpRequestError == HttpRequestError.Unknown ? e.Message : e.HttpRequestError.ToString());
        }
    }

    public void Dispose() => client.Dispose();

    /// <summary>2xx and 3xx: a redirect (to a login page, say) still proves the instance answers.</summary>
    public static bool IsHealthy(HttpStatusCode code) => (int)code is >= 200 and < 400;
}
