using System.Globalization;
using Microsoft.Playwright;
using Router.Testing;

namespace Router.Tests;

/// <summary>
/// The admin status page in a real browser (Debian's headless Chromium driven by Playwright, no browser
/// download) against the real router: what a person sees — problems first, a service row with its hosts and
/// their health colours, its request-rate chart, the change-to-live histogram. Leaves a screenshot in the
/// test output folder (docs/status-page.png is one of these).
/// </summary>
public sealed class StatusPageBrowserTests(SharedEtcdFixture fixture) : RouterScenario(fixture)
{
    [ChromiumFact]
    public async Task StatusPage_InChromium_ProblemsFirstThenServiceWithHostsHealthAndRateChart()
    {
        var web = Own(await TestBackend.StartAsync("web-1"));
        var dead = $"127.0.0.1:{Ports.FreeTcp()}";
        await Etcd.PutAsync($"{Prefix}/web/scheme", "http");
        await Etcd.PutAsync($"{Prefix}/web/hosts/1", web.Address);
        await Etcd.PutAsync($"{Prefix}/web/hosts/2", dead);
        await Etcd.PutAsync($"{Prefix}/typo/scheme", "htp");
        await Proxy.WaitRoutedAsync("web.example.com");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Executable,
            Headless = true,
            // The tests may run as root, where Chromium refuses its sandbox.
            Args = ["--no-sandbox"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 700 } });
        var url = $"http://127.0.0.1:{Proxy.AdminPort}/?refresh=0";
        var loaded = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.Request += (_, request) => loaded.Enqueue(request.Url);

        // Traffic until the chart holds a few points (one every 5 s) and the dead host was found and set aside.
        var row = page.Locator("tr[data-service=web]");
        await Wait.UntilAsync(async () =>
        {
            await Proxy.EchoAsync("web.example.com", "/");
            await page.GotoAsync(url);
            var points = await row.Locator("svg.chart polyline.requests").GetAttributeAsync("points") ?? "";
            var setAside = await page.Locator("#services td.aside").CountAsync();
            return points.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 2 && setAside == 1;
        }, "two rate points on web's chart and host 2 set aside", TimeSpan.FromSeconds(60));

        // Problems come first, above the services.
        var headings = await page.Locator("h2").AllInnerTextsAsync();
        Assert.Equal("Problems (1)", headings[0]);
        Assert.Equal("Services (1)", headings[1]);
        Assert.Contains("Change to live", headings);
        var problemBox = await page.Locator("tr.problem").BoundingBoxAsync();
        var servicesBox = await page.Locator("#services").BoundingBoxAsync();
        Assert.True(problemBox!.Y < servicesBox!.Y, "the problems are shown above the services");
        Assert.Contains("unknown scheme 'htp'", await page.Locator("tr.problem").InnerTextAsync(), StringComparison.Ordinal);

        // The service row with both hosts; the live one green, the dead one orange.
        Assert.True(await row.IsVisibleAsync());
        var table = await page.Locator("#services").InnerTextAsync();
        Assert.Contains(web.Address, table, StringComparison.Ordinal);
        Assert.Contains(dead, table, StringComparison.Ordinal);
        Assert.Equal("rgb(192, 255, 192)", await Background(page.Locator("#services td.up", new PageLocatorOptions { HasText = "up" }).First));
        Assert.Equal("rgb(255, 208, 128)", await Background(page.Locator("#services td.aside")));

        // The rate chart is drawn (a visible SVG with a line of points) and its latest value is in words.
        var chart = row.Locator("svg.chart");
        Assert.True(await chart.IsVisibleAsync());
        var box = await chart.BoundingBoxAsync();
        Assert.True(box!.Width > 100 && box.Height > 20);
        Assert.Matches(@"\d+(\.\d+)?/s, 5xx \d+(\.\d+)?/s", await row.Locator(".rate").InnerTextAsync());
        Assert.True(await page.Locator("#apply-histogram rect").CountAsync() > 5);
        Assert.Matches(@"\d+ changes, mean", await page.Locator("h2:has-text('Change to live') + p").InnerTextAsync());

        // Nothing from elsewhere: no script, and every resource the page loaded came from the router itself.
        Assert.Equal(0, await page.Locator("script").CountAsync());
        Assert.All(loaded, u => Assert.StartsWith($"http://127.0.0.1:{Proxy.AdminPort}/", u, StringComparison.Ordinal));

        var shot = Path.Combine(AppContext.BaseDirectory, "status-page.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 1000, string.Create(CultureInfo.InvariantCulture, $"screenshot {shot}"));
    }

    private static Task<string> Background(ILocator cell) =>
        cell.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
}
