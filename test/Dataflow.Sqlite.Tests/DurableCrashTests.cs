using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

/// <summary>
/// A child process runs a durable batch of 10,000 inputs through a 3-node graph whose nodes append a line per execution
/// to a side file, and is killed with SIGKILL; another resumes it. Every input must end in exactly one final state, a
/// node may run again only if it was the run's node executing at the kill (at most the in-flight bound of them), and the
/// file must stay intact.
/// </summary>
public sealed class DurableCrashTests : StoreTestBase
{
    private const int Inputs = 10_000;

    /// <summary>The child's <c>MaxRunsInFlight</c>: at most this many nodes execute at the kill.</summary>
    private const int InFlight = 256;

    [TestCase("early", 1_000)]
    [TestCase("middle", Inputs / 2)]
    [TestCase("final flush", -1)]
    public async Task KilledDurableBatch_Resumed_EndsEveryInputOnce_AndRunsAgainOnlyTheNodesExecutingAtTheKill(string point, int afterRuns)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        var side = Path.Combine(Folder, "side.txt");
        using (var child = StartChild("durable", "run", DbPath, Inputs.ToString(System.Globalization.CultureInfo.InvariantCulture), side, afterRuns.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            // Early and middle: the child holds every node executing once that many runs finished; final: it is flushing.
            var line = await child.StandardOutput.ReadLineAsync().WaitAsync(Guard * 2);
            if (line != (afterRuns < 0 ? "flushing" : "holding"))
            {
                child.Kill(entireProcessTree: true);
                Assert.Fail($"the child said '{line}' instead of reaching the {point} kill point: {await child.StandardError.ReadToEndAsync()}");
            }

            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync().WaitAsync(Guard);
        }

        var beforeKill = File.ReadAllLines(side);
        var lastBeforeKill = beforeKill.Select(Parse).GroupBy(l => l.Id).ToDictionary(g => g.Key, g => g.Last().Node);
        using (var resume = StartChild("durable", "resume", DbPath, Inputs.ToString(System.Globalization.CultureInfo.InvariantCulture), side))
        {
            var summary = await resume.StandardOutput.ReadLineAsync().WaitAsync(Guard * 2);
            await resume.WaitForExitAsync().WaitAsync(Guard);
            Assert.That(summary, Does.StartWith("done "), await resume.StandardError.ReadToEndAsync());
            TestContext.Out.WriteLine($"{point}: {beforeKill.Length} node executions before the kill; resume: {summary}");
        }

        var executions = File.ReadAllLines(side).Select(Parse).GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var again = executions.Where(e => e.Value > 1).Select(e => e.Key).ToList();
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        // Each run's latest checkpoint, from the log (rows in the order written, checkpoints in order within a row).
        var finals = connection.Query<byte[]>("SELECT body FROM checkpoint_log ORDER BY id")
            .SelectMany(body => CheckpointLog.Decode(body, string.Empty, string.Empty))
            .GroupBy(c => c.RunId)
            .Select(g => g.MaxBy(c => c.Sequence)!)
            .Select(c => (State: c.State.ToString(), c.Node))
            .ToList();
        var done = finals.Where(f => f.State == "Done").Select(f => JsonDocument.Parse(f.Node).RootElement).ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(connection.ExecuteScalar<string>("PRAGMA integrity_check"), Is.EqualTo("ok"));
            Assert.That(finals, Has.Count.EqualTo(Inputs), "one run per input");
            Assert.That(finals.Select(f => f.State).Distinct(), Is.EqualTo(new[] { "Done" }), "every run ended, Done");
            Assert.That(done.Select(d => d.GetProperty("Id").GetInt32()).Order(), Is.EqualTo(Enumerable.Range(0, Inputs)), "each input exactly once");
            Assert.That(done.All(d => d.GetProperty("Total").GetInt32() == 4 * d.GetProperty("Id").GetInt32()), Is.True, "the recalled start node was restored");
            Assert.That(executions.Keys.Count, Is.EqualTo(3 * Inputs), "every node of every input ran");
            Assert.That(again, Has.Count.LessThanOrEqualTo(InFlight), "only nodes in flight at the kill run again");
            Assert.That(again.Where(e => executions[e] > 2), Is.Empty, "a node runs again at most once");
            Assert.That(again.Where(e => lastBeforeKill.GetValueOrDefault(e.Id) != e.Node), Is.Empty, "a node that ran again was its run's last before the kill");
        }
    }

    private static (int Id, string Node) Parse(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return (int.Parse(line[..space], System.Globalization.CultureInfo.InvariantCulture), line[(space + 1)..]);
    }
}
