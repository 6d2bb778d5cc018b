using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dataflow.Dashboard.Tests;

/// <summary><c>dataflow run --serve</c> on a batch whose runs wait at gates: answered from the page, the runs finish.</summary>
[TestFixture]
public sealed class LiveBatchBrowserTests : BrowserFixture
{
    [Test]
    public async Task AGateAnsweredOnTheLivePage_LetsItsRunFinish()
    {
        var input = Path.Combine(Folder, "approvals.jsonl");
        await File.WriteAllLinesAsync(input, ["{\"item\":\"chair\"}", "{\"item\":\"table\"}"]);
        using var batch = DataflowProcess.Start(
            Folder, "run", "--serve", "--port", "0", "--assembly", typeof(Approval).Assembly.Location, "--start", nameof(Approval),
            "--input", input, "--db", Path.Combine(Folder, "live.db"), "--progress-interval", "0.5");
        var url = (await batch.LineAsync("dashboard: ").WaitAsync(TimeSpan.FromSeconds(60))).Trim();

        var page = await NewPageAsync();
        await page.GotoAsync(url + "live");
        await Expect(page.Locator("#gates tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("#live-submitted")).ToHaveTextAsync("2");
        await ScreenshotAsync(page, "live-waiting");

        // A value that is not a valid bool is refused with a plain message, and the gate stays.
        var first = page.Locator("#gates tbody tr").First;
        var gate = await first.GetAttributeAsync("data-gate");
        await first.Locator("input[name=value]").FillAsync("maybe");
        await first.Locator("button").ClickAsync();
        await Expect(page.Locator("body")).ToContainTextAsync("'maybe' is not a valid bool");
        await page.GoBackAsync();
        await page.ReloadAsync();

        var row = page.Locator($"#gates tbody tr[data-gate='{gate}']");
        await row.Locator("input[name=value]").FillAsync("true");
        await row.Locator("button").ClickAsync();
        await Expect(page).ToHaveURLAsync(url + "live");
        await Expect(page.Locator("#live-recent tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#live-recent tbody tr td.state")).ToHaveTextAsync("Done");
        await Expect(page.Locator("#gates tbody tr")).ToHaveCountAsync(1);

        // The other one from its run page.
        var other = page.Locator("#gates tbody tr").First;
        await other.Locator("a.run").ClickAsync();
        await Expect(page.Locator("#run-state")).ToHaveTextAsync("Waiting");
        await page.Locator("#gates input[name=value]").FillAsync("false");
        await page.Locator("#gates button").ClickAsync();
        await page.GotoAsync(url + "live");
        await Expect(page.Locator("#live-status")).ToHaveTextAsync("finished");
        await Expect(page.Locator("#live-done")).ToHaveTextAsync("2");
        await ScreenshotAsync(page, "live-finished");

        await batch.LineAsync("the batch is over").WaitAsync(TimeSpan.FromSeconds(30));
        await batch.SignalAsync("TERM");
        Assert.That(await batch.ExitAsync(), Is.EqualTo(0), batch.Output);
        Assert.That(batch.Output, Does.Not.Contain("error: dashboard:"), "the served dashboard reported a failure on stderr");
    }
}
