using Microsoft.Playwright;

namespace Dataflow.Dashboard.Tests;

/// <summary>
/// One headless Chromium per fixture: Debian's (/usr/bin/chromium; browsers cannot be downloaded here), with a fresh
/// profile and every background connection off. A browser that cannot start fails the fixture's tests; it never skips them.
/// </summary>
public abstract class BrowserFixture
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private string _profile = string.Empty;

    protected IBrowserContext Browser { get; private set; } = null!;

    protected string Folder { get; private set; } = string.Empty;

    /// <summary>The logger to give the fixture's dashboards: a test fails when its pages made the dashboard log a failure, and says which.</summary>
    internal FailureLog DashboardLog { get; } = new();

    [OneTimeSetUp]
    public async Task StartBrowserAsync()
    {
        Folder = Directory.CreateTempSubdirectory("dataflow-dashboard-tests-").FullName;
        Assert.That(File.Exists(ChromiumPath), Is.True, $"Chromium is not installed at {ChromiumPath}: install the 'chromium' package (.ci/run does when it is missing).");
        _profile = Path.Combine(Folder, "profile");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchPersistentContextAsync(_profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            Timeout = 30_000,
        });
        Browser.SetDefaultTimeout(15_000);

        // Assertions wait as long as actions do: their own default (5 s) is shorter than a page load can take while CI
        // runs every test project at once on 2 cores (a runs page after "older »" once showed no rows for 5 s).
        Assertions.SetDefaultExpectTimeout(15_000);
    }

    [TearDown]
    public void NoDashboardFailures()
    {
        var failures = DashboardLog.Drain();
        Assert.That(failures, Is.Empty, "the dashboard logged failures while this test's pages loaded:" + Environment.NewLine + string.Join(Environment.NewLine, failures));
    }

    [OneTimeTearDown]
    public async Task StopBrowserAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A child process may hold a file for a moment; the OS cleans its temp folder.
        }
    }

    /// <summary>A new page that fails the test on any script error or dialog (an XSS payload that ran would open one or set a flag).</summary>
    protected async Task<IPage> NewPageAsync()
    {
        var page = await Browser.NewPageAsync();
        page.PageError += (_, error) => TestContext.Out.WriteLine("page error: " + error);
        page.Dialog += (_, dialog) => Assert.Fail($"a dialog opened: {dialog.Message}");
        return page;
    }

    /// <summary>Saves a full-page screenshot as a test artifact.</summary>
    protected static async Task ScreenshotAsync(IPage page, string name)
    {
        var folder = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, name);
    }
}
