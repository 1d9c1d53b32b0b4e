using System.Net;
using Router.Testing;

namespace Router.Dns.Tests.Support;

/// <summary>Runs bind9's <c>dig</c> against a server and returns what it printed.</summary>
internal static class Dig
{
    public static async Task<string> RunAsync(IPEndPoint server, params string[] arguments)
    {
        await using var dig = TestProcess.Start("dig", [$"@{server.Address}", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+tries=1", "+time=3", .. arguments]);

        // Process.WaitForExitAsync also waits for the redirected output to be read to its end.
        await dig.WaitForExitAsync();
        return dig.Output;
    }
}
